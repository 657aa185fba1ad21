import { spawn, type ChildProcess } from 'node:child_process';
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

/** A running worker CLI whose output lines can be awaited. */
export interface RunningWorker {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  output: () => string;
  /** Resolves with the first match of `pattern` in the output, or rejects after `timeoutMs` with the output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

export function startWorker(args: string[], env: Record<string, string> = {}): RunningWorker {
  const child = spawn(process.execPath, [join(root, 'worker/dist/cli.js'), ...args], { env: { ...process.env, ...env } });
  let output = '';
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const watcher of watchers) watcher();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(output);
          if (!match) return;
          watchers.delete(check);
          clearTimeout(timer);
          resolve(match[0]);
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no ${pattern} in:\n${output}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      });
    },
  };
}
