/**
 * The web server's side of the moderator page: /moderate and /moderate/config.json, the moderator's CSP, and
 * LIVEWALL_MODERATOR_WS_URL (the page itself: web/moderate.it.test.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsFromEnv, OptionsError, resolveOptions } from './server.js';
import { webServers } from '../test/web-server.js';

let dir: string;
let webRoot: string;
let bare: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livewall-moderate-test-'));
  webRoot = path.join(dir, 'dist');
  bare = path.join(dir, 'bare');
  await mkdir(webRoot, { recursive: true });
  await mkdir(bare, { recursive: true });
  await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>wall</title>');
  await writeFile(path.join(webRoot, 'moderate.html'), '<!doctype html><title>moderate</title>');
  await writeFile(path.join(bare, 'index.html'), '<!doctype html><title>wall</title>');
});

afterAll(async () => {
  await close();
  await rm(dir, { recursive: true, force: true });
});

const { start, close } = webServers(() => webRoot);

const connectSrc = (header: string | null): string | undefined =>
  header
    ?.split(';')
    .map((directive) => directive.trim())
    .find((directive) => directive.startsWith('connect-src '));

const withoutConnectSrc = (header: string | null): string[] =>
  (header ?? '')
    .split(';')
    .map((directive) => directive.trim())
    .filter((directive) => directive !== '' && !directive.startsWith('connect-src '));

describe('the moderator page on the web server', () => {
  it('serves /moderate and /moderate/ with the wall’s policy, whose one WebSocket is the moderator’s broker', async () => {
    const base = await start({ brokerUrls: ['ws://public:61614'], moderatorUrl: 'wss://private.example:61613', viewerLogin: 'viewer', viewerPasscode: 'public' });
    const wall = await fetch(`${base}/`);
    for (const route of ['/moderate', '/moderate/', '/moderate.html']) {
      const response = await fetch(`${base}${route}`);
      expect(response.status, route).toBe(200);
      expect(await response.text(), route).toContain('<title>moderate</title>');
      const header = response.headers.get('content-security-policy');
      expect(connectSrc(header), route).toBe("connect-src 'self' wss://private.example:61613");
      expect(withoutConnectSrc(header), route).toEqual(withoutConnectSrc(wall.headers.get('content-security-policy')));
      expect(withoutConnectSrc(header), route).toEqual(expect.arrayContaining(["require-trusted-types-for 'script'", 'trusted-types default', "script-src 'self'"]));
      expect(response.headers.get('x-frame-options'), route).toBe('DENY');
    }
    expect(connectSrc(wall.headers.get('content-security-policy'))).toBe("connect-src 'self' ws://public:61614");
  });

  it('hands /moderate/config.json the moderator’s broker and the feeds, never a login, never cached', async () => {
    const base = await start({
      brokerUrls: ['ws://public:61614'],
      moderatorUrl: 'ws://private:61613',
      feeds: [{ name: 'cats', title: 'Cats' }],
      viewerLogin: 'viewer',
      viewerPasscode: 'public',
      maxItems: 50,
    });
    const response = await fetch(`${base}/moderate/config.json`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      broker: { urls: ['ws://private:61613'], profile: 'artemis' },
      feeds: [{ name: 'cats', title: 'Cats' }],
      imageHosts: ['pbs.twimg.com', 'cdn.bsky.app'],
      maxItems: 50,
      statusTopic: '',
      heartbeatMs: 10_000,
    });
    // The public page's config never names the moderator's broker.
    expect(await (await fetch(`${base}/config.json`)).text()).not.toContain('private');
  });

  it('answers 404 for /moderate when the build has no moderator page', async () => {
    const base = await start({ webRoot: bare });
    expect((await fetch(`${base}/moderate`)).status).toBe(404);
  });
});

describe('LIVEWALL_MODERATOR_WS_URL', () => {
  it('defaults to the local broker’s port that takes the moderator’s login: Artemis’s private STOMP, RabbitMQ’s Web-STOMP', () => {
    expect(resolveOptions({ webRoot }).moderatorUrl).toBe('ws://localhost:61613');
    expect(resolveOptions({ webRoot, brokerProfile: 'rabbitmq' }).moderatorUrl).toBe('ws://localhost:15675/ws');
    expect(optionsFromEnv({ LIVEWALL_WEB_ROOT: webRoot, LIVEWALL_MODERATOR_WS_URL: ' wss://mod.example/stomp ' }).moderatorUrl).toBe('wss://mod.example/stomp');
    expect(optionsFromEnv({ LIVEWALL_WEB_ROOT: webRoot, LIVEWALL_MODERATOR_WS_URL: '' }).moderatorUrl).toBe('ws://localhost:61613');
  });

  it.each([
    ['http://mod.example', 'must start with ws:// or wss://'],
    ['not a url', 'is not a URL'],
    ['ws://moderator:secret@mod.example', 'must not carry credentials (the moderator types the login into the page)'],
    ['ws://mod.example/?login=moderator', 'must not have a ?query or #fragment'],
    ["ws://mod.example/a'b", 'contains characters not allowed in a URL here'],
  ])('refuses %s', (value, message) => {
    let error: unknown;
    try {
      optionsFromEnv({ LIVEWALL_WEB_ROOT: webRoot, LIVEWALL_MODERATOR_WS_URL: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as OptionsError).variable).toBe('LIVEWALL_MODERATOR_WS_URL');
    expect((error as Error).message).toContain(message);
  });

  it('refuses the moderator as the page’s viewer login, and the moderator’s password as its passcode', () => {
    expect(() => resolveOptions({ webRoot, viewerLogin: 'moderator' })).toThrow(/LIVEWALL_VIEWER_LOGIN: "moderator" is the broker's moderator user/);
    expect(() => optionsFromEnv({ LIVEWALL_WEB_ROOT: webRoot, LIVEWALL_VIEWER_LOGIN: 'viewer', LIVEWALL_VIEWER_PASSCODE: 's3cret', LIVEWALL_MODERATOR_PASSWORD: 's3cret' })).toThrow(
      /LIVEWALL_VIEWER_PASSCODE: is the broker's moderator password \(LIVEWALL_MODERATOR_PASSWORD\)/,
    );
  });
});
