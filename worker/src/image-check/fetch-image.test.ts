import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createPlainServer } from 'node:http';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageAllowList } from '@livewall/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageScores } from './classes.js';
import type { ImageClassifier } from './classifier.js';
import { IMAGE_CHECK_DEFAULTS } from './config.js';
import { fetchImage, isLoopbackHttp, type FetchRefusal } from './fetch-image.js';
import { FetchingInspector } from './inspector.js';

/** A local HTTPS server with a certificate made for this test, and the paths it was asked for. */
interface Site {
  server: Server;
  origin: string;
  requests: string[];
}

let dir: string;
let agent: Agent;
let allowed: Site;
let offList: Site;
const picture = Buffer.from('\x89PNG\r\n\x1a\n pretend picture bytes');

async function site(key: string, cert: string, answer: (path: string, response: import('node:http').ServerResponse) => void): Promise<Site> {
  const requests: string[] = [];
  const server = createServer({ key, cert }, (request, response) => {
    requests.push(request.url ?? '');
    answer(request.url ?? '', response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'livewall-image-fetch-'));
  const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=livewall test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const [key, cert] = [readFileSync(keyFile, 'utf8'), readFileSync(certFile, 'utf8')];
  // Trusted by this agent alone: the process's trust store (and its verification) stays as it is.
  agent = new Agent({ ca: cert });
  offList = await site(key, cert, (_, response) => response.end(picture));
  allowed = await site(key, cert, (path, response) => {
    if (path.split('?')[0] === '/cat.png') return response.end(picture);
    if (path === '/moved') return response.writeHead(302, { location: '/cat.png' }).end();
    if (path === '/away') return response.writeHead(302, { location: `${offList.origin}/cat.png` }).end();
    if (path === '/plain') return response.writeHead(301, { location: `http://127.0.0.1:1/cat.png` }).end();
    if (path === '/declared-large') return response.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000));
    if (path === '/streamed-large') {
      // No Content-Length: the cap is found while reading.
      response.writeHead(200);
      for (let chunk = 0; chunk < 10; chunk++) response.write(Buffer.alloc(1000));
      return response.end();
    }
    if (path === '/missing') return response.writeHead(404).end();
    // /silent: answers nothing.
  });
});

afterAll(() => {
  allowed.server.closeAllConnections();
  offList.server.closeAllConnections();
  allowed.server.close();
  offList.server.close();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function fetchFrom(url: string, options: { maxBytes?: number; signal?: AbortSignal; trusted?: boolean } = {}): Promise<Buffer> {
  return fetchImage(url, { allowList: new ImageAllowList([allowed.origin]), maxBytes: options.maxBytes ?? 4096, signal: options.signal ?? new AbortController().signal, ...(options.trusted === false ? {} : { agent }) });
}

async function refusal(work: Promise<unknown>): Promise<FetchRefusal> {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown as { reason: FetchRefusal },
  );
  if (!error) throw new Error('the fetch was expected to be refused');
  return error.reason;
}

describe('fetching a picture for the image check', () => {
  it('fetches a picture from a host on the allow-list, over https, following a redirect that stays on the list', async () => {
    expect(await fetchFrom(`${allowed.origin}/cat.png`)).toEqual(picture);
    expect(await fetchFrom(`${allowed.origin}/moved`)).toEqual(picture);
  });

  it('refuses plain http and hosts off the allow-list without asking them', async () => {
    const before = offList.requests.length;
    expect(await refusal(fetchFrom(`http://127.0.0.1:${new URL(allowed.origin).port}/cat.png`))).toBe('not-https');
    expect(await refusal(fetchFrom(`${offList.origin}/cat.png`))).toBe('off-list');
    expect(offList.requests.length).toBe(before);
  });

  it('refuses a redirect off the allow-list, or to plain http, and does not follow it', async () => {
    const before = offList.requests.length;
    expect(await refusal(fetchFrom(`${allowed.origin}/away`))).toBe('redirect-off-list');
    expect(await refusal(fetchFrom(`${allowed.origin}/plain`))).toBe('not-https');
    expect(offList.requests.length).toBe(before);
  });

  it('refuses a body over the size cap, declared or streamed', async () => {
    expect(await refusal(fetchFrom(`${allowed.origin}/declared-large`, { maxBytes: 4096 }))).toBe('too-large');
    expect(await refusal(fetchFrom(`${allowed.origin}/streamed-large`, { maxBytes: 4096 }))).toBe('too-large');
    expect((await fetchFrom(`${allowed.origin}/streamed-large`, { maxBytes: 10_000 })).length).toBe(10_000);
  });

  it('gives up when its time is up', async () => {
    const due = new AbortController();
    const fetching = fetchFrom(`${allowed.origin}/silent`, { signal: due.signal });
    setTimeout(() => due.abort(), 100);
    expect(await refusal(fetching)).toBe('timeout');
  });

  it('takes plain http from this machine only when the feed allows it (loopbackHttp, for a local demo)', async () => {
    const plain = createPlainServer((_, response) => response.end(picture));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/cat.png`;
      const allowList = new ImageAllowList([new URL(url).origin, 'example.com']);
      const options = { allowList, maxBytes: 4096, signal: new AbortController().signal };
      expect(await refusal(fetchImage(url, options))).toBe('not-https');
      expect(await fetchImage(url, { ...options, loopbackHttp: true })).toEqual(picture);
      expect(await refusal(fetchImage('http://example.com/cat.png', { ...options, loopbackHttp: true }))).toBe('not-https');
    } finally {
      plain.close();
    }
    expect(['http://localhost:8080/a.png', 'http://127.0.0.2/a.png', 'http://[::1]:8080/a.png'].map(isLoopbackHttp)).toEqual([true, true, true]);
    expect(['https://127.0.0.1/a.png', 'http://127.0.0.1.example.com/a.png', 'http://10.0.0.1/a.png', 'http://localhost.example/a.png', 'not a url'].map(isLoopbackHttp)).toEqual([false, false, false, false, false]);
  });

  it('refuses an error status, and a certificate it was not told to trust', async () => {
    expect(await refusal(fetchFrom(`${allowed.origin}/missing`))).toBe('http-status');
    expect(await refusal(fetchFrom(`${allowed.origin}/cat.png`, { trusted: false }))).toBe('network');
  });
});

describe('the scores kept by picture URL', () => {
  /** Counts the pictures it is asked to score; each gets scores of its own (its call number as Drawing). */
  function countingClassifier(): ImageClassifier & { calls: number } {
    const classifier = {
      calls: 0,
      classify: (): Promise<ImageScores> => Promise.resolve({ Drawing: ++classifier.calls, Hentai: 0, Neutral: 0, Porn: 0, Sexy: 0 }),
    };
    return classifier;
  }
  const item = (...paths: string[]) => ({ images: paths.map((path) => ({ url: `${allowed.origin}${path}`, thumb: `${allowed.origin}${path}` })) }) as never;
  const signal = new AbortController().signal;

  it('fetches and scores a picture once, however many items show it, and forgets the least recently used', async () => {
    const classifier = countingClassifier();
    const inspector = new FetchingInspector(classifier, agent, 2);
    const list = new ImageAllowList([allowed.origin]);
    const fetchedBefore = allowed.requests.length;
    const first = await inspector.inspect(item('/cat.png', '/moved'), IMAGE_CHECK_DEFAULTS, list, signal);
    expect(first.map((scores) => scores.Drawing)).toEqual([1, 2]);
    // A repost: both from the cache, nothing fetched.
    expect((await inspector.inspect(item('/moved', '/cat.png'), IMAGE_CHECK_DEFAULTS, list, signal)).map((scores) => scores.Drawing)).toEqual([2, 1]);
    expect(inspector.cache).toEqual({ hits: 2, misses: 2 });
    expect(allowed.requests.length - fetchedBefore).toBe(3);
    // A third picture: /moved, the least recently used, is forgotten; /cat.png is kept.
    await inspector.inspect(item('/cat.png?2'), IMAGE_CHECK_DEFAULTS, list, signal);
    expect((await inspector.inspect(item('/cat.png', '/moved'), IMAGE_CHECK_DEFAULTS, list, signal)).map((scores) => scores.Drawing)).toEqual([1, 4]);
    expect(classifier.calls).toBe(4);
  });

  it('asks the allow-list again, and keeps no error', async () => {
    const classifier = countingClassifier();
    const inspector = new FetchingInspector(classifier, agent);
    await inspector.inspect(item('/cat.png'), IMAGE_CHECK_DEFAULTS, new ImageAllowList([allowed.origin]), signal);
    // The host left the list (a reload): refused, though its scores are known.
    expect(await refusal(inspector.inspect(item('/cat.png'), IMAGE_CHECK_DEFAULTS, new ImageAllowList([offList.origin]), signal))).toBe('off-list');
    expect(await refusal(inspector.inspect(item('/missing'), IMAGE_CHECK_DEFAULTS, new ImageAllowList([allowed.origin]), signal))).toBe('http-status');
    expect(await refusal(inspector.inspect(item('/missing'), IMAGE_CHECK_DEFAULTS, new ImageAllowList([allowed.origin]), signal))).toBe('http-status');
    expect(classifier.calls).toBe(1);
  });

  it('looks at a picture once for items that show it at the same time, and calls the look off only when nobody waits', async () => {
    let answer: (scores: ImageScores) => void = () => undefined;
    const signals: AbortSignal[] = [];
    const slow: ImageClassifier = {
      classify: (_bytes, _pixels, given) => (signals.push(given), new Promise((resolve) => (answer = resolve))),
    };
    const inspector = new FetchingInspector(slow, agent);
    const list = new ImageAllowList([allowed.origin]);
    const [one, two] = [new AbortController(), new AbortController()];
    const first = inspector.inspect(item('/cat.png?shared'), IMAGE_CHECK_DEFAULTS, list, one.signal);
    const second = inspector.inspect(item('/cat.png?shared'), IMAGE_CHECK_DEFAULTS, list, two.signal);
    await expect.poll(() => signals.length).toBe(1);
    // The first item's time is up: it stops waiting, the second still gets the scores.
    one.abort();
    expect(await refusal(first)).toBe('timeout');
    expect(signals[0]?.aborted).toBe(false);
    answer({ Drawing: 0.9, Hentai: 0, Neutral: 0.1, Porn: 0, Sexy: 0 });
    expect((await second)[0]?.Drawing).toBe(0.9);
    expect(inspector.cache).toEqual({ hits: 1, misses: 1 });
    // Both give up: the look is called off.
    const [three, four] = [new AbortController(), new AbortController()];
    const third = inspector.inspect(item('/cat.png?gone'), IMAGE_CHECK_DEFAULTS, list, three.signal);
    const fourth = inspector.inspect(item('/cat.png?gone'), IMAGE_CHECK_DEFAULTS, list, four.signal);
    await expect.poll(() => signals.length).toBe(2);
    three.abort();
    four.abort();
    expect([await refusal(third), await refusal(fourth)]).toEqual(['timeout', 'timeout']);
    expect(signals[1]?.aborted).toBe(true);
  });
});
