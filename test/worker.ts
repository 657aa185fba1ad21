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

/**
 * The bundled recording repeated to `lines` lines, every post with an id of its own and the sample's `cats` tag renamed
 * to `feed`; returns the file and the ids of the feed items it makes, in order.
 */
export async function longRecording(dir: string, feed: string, lines: number): Promise<{ file: string; ids: string[] }> {
  const sample = (await readFile(join(root, 'samples/x-cats.ndjson'), 'utf8')).split('\r\n').filter((line) => line.trim() !== '');
  const out: string[] = [];
  const ids: string[] = [];
  for (let index = 0; index < lines; index++) {
    const event = JSON.parse(sample[index % sample.length] as string) as { data: { id: string; attachments?: unknown }; matching_rules: { tag: string }[] };
    event.data.id = `${event.data.id.slice(0, 12)}${String(index).padStart(7, '0')}`;
    for (const rule of event.matching_rules) if (rule.tag === 'cats') rule.tag = feed;
    if (event.data.attachments && event.matching_rules.some((rule) => rule.tag === feed)) ids.push(`x:${event.data.id}`);
    out.push(JSON.stringify(event));
  }
  const file = join(dir, `${feed}-long.ndjson`);
  await writeFile(file, `${out.join('\r\n')}\r\n`);
  return { file, ids };
}

export interface WorkerConfigOptions {
  broker: TestBroker;
  feeds: string[];
  recording: string;
  /** Replay options, as YAML lines under sources.x.replay (e.g. ['pace: 50/s', 'loop: true']). */
  replay?: string[];
  /** More top-level YAML. */
  extra?: string;
  /** broker.profile; the worker's default (artemis) when not given. */
  profile?: string;
}

/** A worker config's `broker:` section for the test broker, the publisher's login (its password from TEST_PUBLISHER_PASSWORD). */
export function brokerSection(broker: TestBroker, options: { profile?: string; stomp?: boolean } = {}): string {
  return `broker:
  url: amqp://${broker.host}:${broker.amqpPort}
  username: publisher
  password: \${TEST_PUBLISHER_PASSWORD}
${options.profile ? `  profile: ${options.profile}\n` : ''}${options.stomp ? `  stomp: stomp://${broker.host}:${broker.stompTcpPort}\n` : ''}`;
}

/** A worker config for the test broker; the publisher's password comes from TEST_PUBLISHER_PASSWORD. */
export function workerConfig(options: WorkerConfigOptions): string {
  const replay = (options.replay ?? []).map((line) => `      ${line}\n`).join('');
  return `${brokerSection(options.broker, options.profile ? { profile: options.profile } : {})}imageHosts: [${demoOrigin}]
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
  // JSON lines, which tests read, whatever LOG_FORMAT the shell that runs them has.
  const child = spawn(process.execPath, [join(root, 'worker/dist/cli.js'), ...args], { env: { ...process.env, LOG_FORMAT: 'json', ...env } });
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

/** What a worker's /status says about feed ownership. */
export interface OwnershipReport {
  instance: { id: string; pid: number };
  feeds: { feed: string; role: string; owner?: { id: string; host: string; pid: number; region?: string }; epoch: number }[];
}

/** A worker's /status, from its ops port. */
export async function statusOf(port: number): Promise<{ routes: { id: string; state: string }[]; ownership: OwnershipReport }> {
  return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { routes: { id: string; state: string }[]; ownership: OwnershipReport };
}

/** How many times the worker's output matches `pattern`. */
export function count(worker: RunningWorker, pattern: RegExp): number {
  return worker.output().match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

/** When the worker logged the `nth` line matching `pattern` (pino's epoch ms). */
export function loggedAt(worker: RunningWorker, pattern: RegExp, nth = 1): number {
  const lines = worker.output().split('\n').filter((line) => pattern.test(line));
  return (JSON.parse(lines[nth - 1] ?? '{}') as { time?: number }).time ?? NaN;
}
