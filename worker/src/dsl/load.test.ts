import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultComponents } from '../components/index.js';
import { ConfigError, loadConfig } from '../config.js';
import { loadRoutes } from './load.js';

const env = { LIVEWALL_PUBLISHER_PASSWORD: 'pw' };
const CONFIG = [
  'broker: { url: "amqp://localhost:5672" }',
  'sources: { x: { replay: { file: x.ndjson } } }',
  'feeds: [ { name: cats } ]',
  'routes:',
  '  - route:',
  '      id: dogs',
  '      from:',
  '        uri: replay:dogs.ndjson',
  '        steps:',
  '          - transform: { expression: { ref: decodeX } }',
  '          - filter: { expression: { ref: isPost } }',
  '          - to: amqp:/topic/feed.dogs',
];

describe('loadRoutes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'livewall-routes-'));
    // The recording the config plays: loading a config checks that a file it reads is there.
    writeFileSync(join(dir, 'x.ndjson'), '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function write(lines: string[]): string {
    const file = join(dir, 'worker.yaml');
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }

  it('compiles the routes of a loaded config with the worker\'s components and built-ins, signed with its settings', () => {
    const file = write(CONFIG);
    const config = loadConfig(file, env);
    const [route, ...rest] = loadRoutes(config, defaultComponents(), env);
    expect(rest).toEqual([]);
    expect(route?.id).toBe('dogs');
    expect(route?.steps.map((step) => ('name' in step ? step.name : step.kind))).toEqual(['decodeX', 'isPost', 'to']);
    expect(route?.signature).toContain('"videoPreviews":true');
  });

  it('throws a ConfigError with every problem', () => {
    const file = write(CONFIG.map((line) => line.replace('decodeX', 'decodeY').replace('feed.dogs', 'feed.dogs?linger=1')));
    const config = loadConfig(file, env);
    const problems = ((): string[] => {
      try {
        loadRoutes(config, defaultComponents(), env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(problems).toEqual([
      `${file}:10:45: unknown expression "decodeY"; known: decodeX, decodeBluesky, decodeMastodon, rejection, post, feedItem, stamp`,
      `${file}:12:17: unknown option "linger" for amqp:; it takes maxInFlight`,
    ]);
  });
});
