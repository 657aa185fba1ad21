import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeStompBroker, type Frame } from './components/stomp/fake-broker.js';
import { fakeClock, testLogger } from './components/testing.js';
import { prettyItem } from './item-line.js';
import { tap } from './tap.js';

const NOT_LIVE = 'livewall: no such destination: feed.cats';
const ITEM = { id: 'x:1', createdAt: '2026-05-01T12:34:56Z', author: { handle: 'cat' }, images: [{ url: 'https://pbs.twimg.com/media/a.jpg' }], text: 'a loaf', url: 'https://x.com/cat/1' };

const brokers: FakeStompBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
});

async function fakeBroker(): Promise<{ broker: FakeStompBroker; port: number }> {
  const broker = new FakeStompBroker();
  brokers.push(broker);
  return { broker, port: await broker.listen() };
}

/** Resolves with the `nth` SUBSCRIBE the broker gets (counting those before the call). */
function nthSubscribe(broker: FakeStompBroker, nth: number): Promise<Frame> {
  let seen = 0;
  return broker.waitFor((frame) => frame.command === 'SUBSCRIBE' && ++seen === nth);
}

describe('tap', () => {
  /** Every connect also sleeps 10 s on the clock, as its answer timeout: these are the other sleeps. */
  const isBackoff = (ms: number) => ms !== 10_000;

  it('says what it does in lines a person reads: connecting once, a feed not live yet, subscribed, and "lost" only for a subscription it had', async () => {
    const { broker, port } = await fakeBroker();
    broker.refuseSubscriptions = NOT_LIVE;
    const clock = fakeClock();
    const log = testLogger();
    const written: string[] = [];
    const stop = new AbortController();
    const running = tap({ feed: 'cats', host: '127.0.0.1', port, format: 'pretty', write: (text) => written.push(text), clock }, log, stop.signal);
    const lines = () => log.lines.map((line) => `${line.level} ${line.message}`);
    const nextTry = async (): Promise<void> => {
      await clock.whenSleeping(1, isBackoff);
      await clock.advance(clock.requested.filter(isBackoff).at(-1) ?? 0);
    };

    await clock.whenSleeping(1, isBackoff);
    expect(lines()).toEqual([`info connecting to 127.0.0.1:${port} as an anonymous viewer…`, 'info feed.cats is not live yet (no such destination); trying again in 1 s']);
    broker.refuseSubscriptions = 'not allowed here';
    await nextTry();
    await clock.whenSleeping(1, isBackoff);
    expect(lines().at(-1)).toBe('warn connection lost (not allowed here); retrying in 2 s');
    broker.refuseSubscriptions = undefined;
    await nextTry();
    await log.waitFor((line) => line.message?.startsWith('subscribed') === true);
    expect(lines().at(-1)).toBe('info subscribed to /topic/feed.cats as an anonymous viewer — waiting for items');
    expect(lines().filter((line) => line.includes('connecting'))).toHaveLength(1);
    expect(lines().filter((line) => line.includes('subscription lost'))).toEqual([]);

    broker.publish('/topic/feed.cats', JSON.stringify(ITEM));
    await expect.poll(() => written).toEqual([`${prettyItem(ITEM)}\n`]);
    broker.cut();
    await log.waitFor((line) => line.message?.startsWith('subscription lost') === true);
    expect(lines().at(-1)).toMatch(/^warn subscription lost \(.+\); subscribing again in 1 s$/);
    expect(log.lines.at(-1)?.fields).toMatchObject({ broker: `127.0.0.1:${port} (no login)`, destination: '/topic/feed.cats', cause: 'subscription-lost' });
    stop.abort();
    expect(await running).toBe(1);
  });

  it('names the login it connects as, and says it cannot connect to a broker that is not there', async () => {
    const { broker, port } = await fakeBroker();
    await broker.close();
    const clock = fakeClock();
    const log = testLogger();
    const stop = new AbortController();
    const running = tap({ feed: 'cats', host: '127.0.0.1', port, login: 'admin', passcode: 'a', format: 'ndjson', write: () => undefined, clock }, log, stop.signal);
    await clock.whenSleeping(1, isBackoff);
    expect(log.lines.map((line) => `${line.level} ${line.message}`)).toEqual([
      `info connecting to 127.0.0.1:${port} as admin…`,
      `warn cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; retrying in 1 s`,
    ]);
    stop.abort();
    await running;
  });
});

describe('livewall-worker tap (the built CLI)', () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

  /** Runs `tap cats --limit 1` against `port` until it exits; the broker refuses its first subscription, then sends an item. */
  async function tapOnce(broker: FakeStompBroker, port: number, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    broker.refuseSubscriptions = NOT_LIVE;
    const child = spawn(process.execPath, [cli, 'tap', 'cats', '--host', '127.0.0.1', '--port', String(port), '--limit', '1'], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await nthSubscribe(broker, 1);
    broker.refuseSubscriptions = undefined;
    await nthSubscribe(broker, 2);
    broker.publish('/topic/feed.cats', JSON.stringify(ITEM));
    const code = await exited;
    return { code, stdout, stderr };
  }

  it('prints only the items on stdout, and on stderr readable lines with LOG_FORMAT=pretty', { timeout: 20_000 }, async () => {
    const { broker, port } = await fakeBroker();
    const { code, stdout, stderr } = await tapOnce(broker, port, { LOG_FORMAT: 'pretty' });
    expect(code, stderr).toBe(0);
    expect(stdout).toBe(`${JSON.stringify(ITEM)}\n`);
    const time = String.raw`\[\d\d:\d\d:\d\d\.\d{3}\]`;
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${time} INFO: connecting to 127\\.0\\.0\\.1:${port} as an anonymous viewer…$`)),
      expect.stringMatching(new RegExp(`^${time} INFO: feed\\.cats is not live yet \\(no such destination\\); trying again in 1 s$`)),
      expect.stringMatching(new RegExp(`^${time} INFO: subscribed to /topic/feed\\.cats as an anonymous viewer — waiting for items$`)),
    ]);
  });

  it('logs JSON lines on stderr when it is not a terminal', { timeout: 20_000 }, async () => {
    const { broker, port } = await fakeBroker();
    const { code, stdout, stderr } = await tapOnce(broker, port, {});
    expect(code, stderr).toBe(0);
    expect(stdout).toBe(`${JSON.stringify(ITEM)}\n`);
    const records = stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => record.msg)).toEqual([
      `connecting to 127.0.0.1:${port} as an anonymous viewer…`,
      'feed.cats is not live yet (no such destination); trying again in 1 s',
      'subscribed to /topic/feed.cats as an anonymous viewer — waiting for items',
    ]);
    expect(records[1]).toMatchObject({ name: 'livewall-tap', level: 30, broker: `127.0.0.1:${port} (no login)`, cause: 'not-live', reason: NOT_LIVE });
  });
});
