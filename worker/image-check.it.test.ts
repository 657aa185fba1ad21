import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@stomp/stompjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { declareFeed, testBroker } from '../test/broker.js';
import { freePort } from '../test/ports.js';
import { collect, connectStomp } from '../test/stomp.js';
import { brokerSection, root, startWorker } from '../test/worker.js';

/**
 * The image check end to end, against the real Artemis and the real model: a worker replays four posts whose pictures
 * come from a local HTTPS host (a certificate of its own, which the worker trusts through NODE_EXTRA_CA_CERTS, as an
 * operator would trust a private CA): one picture that passes, one over its feed's threshold, one the host does not
 * have (HTTP 404), and the first picture again. Three feeds take the same posts: onError drop, onError pass, and
 * approval mode.
 *
 * The thresholds trip on the shipped samples, deterministically: the model scores every demo picture as a drawing or
 * neutral, but not all equally so — Ga5oO85W3HQNc9v.png (a cartoon cat) comes out Hentai 0.015, FhRG0NaRuTuT4RG.png
 * 0.00002, so `Hentai: 0.001` flags the one and passes the other, each with a margin of ten times or more.
 */
const broker = testBroker();
const PASSES = 'FhRG0NaRuTuT4RG.png';
const FLAGGED = 'Ga5oO85W3HQNc9v.png';
const GONE = 'gone.png';
const thresholds = '{ Hentai: 0.001 }';
// Far more than a picture takes: on a machine shared with other work, a verdict must not come from the clock.
const timeout = '30s';

let dir: string;
let certFile: string;
let host: Server;
let origin: string;
let admin: Client;
let viewer: Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-image-check-'));
  const keyFile = join(dir, 'key.pem');
  certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=livewall image host', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  host = createServer({ key: await readFile(keyFile), cert: await readFile(certFile) }, (request, response) => {
    // X's thumbnail URL carries ?name=small; the host serves the demo's pictures by file name, and has no gone.png.
    const name = new URL(request.url ?? '/', 'https://host').pathname.replace('/media/', '');
    if (name === GONE || !/^[\w-]+\.png$/.test(name)) return response.writeHead(404).end();
    readFile(join(root, 'samples/media', name)).then(
      (bytes) => response.writeHead(200, { 'content-type': 'image/png' }).end(bytes),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(host.address() as AddressInfo).port}`;
  admin = await connectStomp(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin });
  viewer = await connectStomp(broker.wsUrl);
}, 30_000);

afterAll(async () => {
  await admin?.deactivate();
  await viewer?.deactivate();
  host?.closeAllConnections();
  host?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Four posts of the X filtered stream, each with one picture and matched by every feed's rule, in this order. */
async function recording(feeds: string[]): Promise<{ file: string; ids: string[] }> {
  const pictures = [PASSES, FLAGGED, GONE, PASSES];
  const ids = pictures.map((_, index) => `21168628${String(index + 1).padStart(11, '0')}`);
  const lines = pictures.map((picture, index) =>
    JSON.stringify({
      data: { id: ids[index], text: `cat ${index + 1}`, author_id: '755109284', created_at: '2026-11-01T12:00:05.000Z', attachments: { media_keys: [`3_${index}`] }, edit_history_tweet_ids: [ids[index]] },
      includes: { media: [{ media_key: `3_${index}`, type: 'photo', url: `https://pbs.twimg.com/media/${picture}`, width: 480, height: 360 }], users: [{ id: '755109284', name: 'Midnight Zoomies', username: 'midnightzoomies' }] },
      matching_rules: feeds.map((tag, rule) => ({ id: String(rule + 1), tag })),
    }),
  );
  const file = join(dir, `${feeds[0]}.ndjson`);
  await writeFile(file, `${lines.join('\r\n')}\r\n`);
  return { file, ids: ids.map((id) => `x:${id}`) };
}

/** One sample of /metrics: the value of the line that starts with `prefix` (name and labels), 0 when absent. */
function sample(metrics: string, prefix: string): number {
  return Number(metrics.split('\n').find((line) => line.startsWith(prefix))?.split(' ').at(-1) ?? 0);
}

test('exactly the pictures that pass reach the topic, in order; onError decides the unfetchable one; approval mode queues the flagged one with its scores; /metrics counts each', async () => {
  const name = `img-${randomUUID().slice(0, 6)}`;
  const [drop, pass, manual] = [`${name}-drop`, `${name}-pass`, `${name}-manual`];
  const { file: replay, ids } = await recording([drop, pass, manual]);
  for (const feed of [drop, pass, manual]) await declareFeed(feed);
  const dropTopic = collect(viewer, `/topic/feed.${drop}`);
  const passTopic = collect(viewer, `/topic/feed.${pass}`);
  const manualTopic = collect(viewer, `/topic/feed.${manual}`);
  const pending = collect(admin, `/queue/pending.${manual}`);
  await Promise.all([dropTopic, passTopic, manualTopic, pending].map((collector) => collector.ready));

  const port = await freePort();
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    `${brokerSection(broker, { stomp: true })}imageHosts: [${origin}]
sources:
  x:
    replay:
      file: ${replay}
      rewriteMedia: { from: "https://pbs.twimg.com/media/", to: "${origin}/media/" }
feeds:
  - { name: ${drop}, network: x, imageCheck: { thresholds: ${thresholds}, onError: drop, timeout: ${timeout} } }
  - { name: ${pass}, network: x, imageCheck: { thresholds: ${thresholds}, onError: pass, timeout: ${timeout} } }
  - { name: ${manual}, network: x, imageCheck: { thresholds: ${thresholds}, timeout: ${timeout} }, moderation: { mode: manual } }
status: { enabled: false }
ops: { port: ${port} }
`,
  );
  // --watch: the worker stays up after the replay, for /metrics.
  const worker = startWorker(['run', '--watch', '--config', config], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher, NODE_EXTRA_CA_CERTS: certFile, LIVEWALL_IMAGE_CHECK_THREADS: '1' });
  try {
    await worker.waitFor(/image classifier loaded/, 60_000);
    const [passed, flagged, gone, again] = ids as [string, string, string, string];
    const itemIds = (collector: ReturnType<typeof collect>) => collector.messages.map((message) => (JSON.parse(message.body) as { id: string }).id);
    await expect.poll(() => itemIds(passTopic).length, { timeout: 60_000 }).toBe(3);
    await expect.poll(() => itemIds(dropTopic).length, { timeout: 20_000 }).toBe(2);
    await expect.poll(() => pending.messages.length, { timeout: 20_000 }).toBe(3);

    expect(itemIds(dropTopic)).toEqual([passed, again]);
    expect(itemIds(passTopic)).toEqual([passed, gone, again]);
    // Approval mode: nothing straight to the topic; the flagged item waits for a moderator with its scores, and so do
    // the passed ones (the moderator page orders its queue by them); the unfetchable one is dropped (onError drop).
    const queued = pending.messages.map((message) => JSON.parse(message.body) as { id: string; imageCheck?: { scores: Record<string, number>[]; flagged?: string } });
    expect(queued.map((item) => item.id)).toEqual([passed, flagged, again]);
    expect(queued[1]?.imageCheck?.flagged).toBe('Hentai');
    expect(queued[1]?.imageCheck?.scores[0]?.Hentai).toBeGreaterThan(0.001);
    expect(queued[0]?.imageCheck?.flagged).toBeUndefined();
    expect(queued[0]?.imageCheck?.scores[0]?.Hentai).toBeLessThan(0.001);
    for (const item of queued) expect(Object.values(item.imageCheck?.scores[0] ?? {}).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 3);
    expect(itemIds(manualTopic)).toEqual([]);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const checks = (feed: string, outcome: string, klass?: string): number =>
      metrics
        .split('\n')
        .filter((line) => line.startsWith(`livewall_image_checks_total{feed="${feed}",outcome="${outcome}",class="${klass ?? ''}`))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    for (const feed of [drop, pass, manual]) {
      expect(checks(feed, 'passed'), feed).toBe(2);
      expect(checks(feed, 'flagged', 'Hentai"'), feed).toBe(1);
    }
    expect(checks(drop, 'error-dropped', 'http-status"')).toBe(1);
    expect(checks(manual, 'error-dropped', 'http-status"')).toBe(1);
    expect(checks(pass, 'error-passed', 'http-status"')).toBe(1);
    expect(checks(pass, 'error-dropped')).toBe(0);
    expect(sample(metrics, `livewall_dropped_total{route="feed:${drop}",reason="image:Hentai"}`)).toBe(1);
    expect(sample(metrics, `livewall_dropped_total{route="feed:${drop}",reason="image-error:http-status"}`)).toBe(1);
    expect(sample(metrics, `livewall_dropped_total{route="feed:${pass}",reason="image:Hentai"}`)).toBe(1);
    // Three feeds looked at four pictures each; the ones scored before were not fetched again.
    const [hits, misses] = ['hit', 'miss'].map((result) => sample(metrics, `livewall_image_check_cache_total{result="${result}"}`));
    expect((hits as number) + (misses as number)).toBe(12);
    expect(hits).toBeGreaterThanOrEqual(1);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}, 180_000);
