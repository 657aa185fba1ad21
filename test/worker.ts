import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestBroker } from './broker.js';

export const root = fileURLToPath(new URL('..', import.meta.url));
/** The origin the demo serves its images from; allowed as an image host in test configs. */
export const demoOrigin = 'http://localhost:8080';

/** The bundled recording with its rule tags renamed, so a test has a feed of its own on the shared broker. */
export async function recordingFor(dir: string, feed: string): Promise<string> {
  const recording = await readFile(join(root, 'samples/x-cats.ndjson'), 'utf8');
  const file = join(dir, `${feed}.ndjson`);
  await writeFile(file, recording.replaceAll('"tag":"cats"', `"tag":"${feed}"`));
  return file;
}

export interface WorkerConfigOptions {
  broker: TestBroker;
  feeds: string[];
  recording: string;
  /** Replay options, as YAML lines under sources.x.replay (e.g. ['pace: 50/s', 'loop: true']). */
  replay?: string[];
  /** More top-level YAML. */
  extra?: string;
}

/** A worker config for the test broker; the publisher's password comes from TEST_PUBLISHER_PASSWORD. */
export function workerConfig(options: WorkerConfigOptions): string {
  const replay = (options.replay ?? []).map((line) => `      ${line}\n`).join('');
  return `broker:
  url: amqp://${options.broker.host}:${options.broker.amqpPort}
  username: publisher
  password: \${TEST_PUBLISHER_PASSWORD}
imageHosts: [${demoOrigin}]
sources:
  x:
    replay:
      file: ${options.recording}
${replay}      rewriteMedia: { from: "https://pbs.twimg.com/media/", to: "${demoOrigin}/demo/media/" }
feeds:
${options.feeds.map((feed) => `  - name: ${feed}`).join('\n')}
${options.extra ?? ''}`;
}
