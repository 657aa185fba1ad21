import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, main, optionsFromEnv, OptionsError, resolveOptions } from './server.js';
import { webServers } from '../test/web-server.js';

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let dir: string;
let webRoot: string;
let media: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livewall-web-test-'));
  webRoot = path.join(dir, 'dist');
  media = path.join(dir, 'media');
  await mkdir(path.join(webRoot, 'assets'), { recursive: true });
  await mkdir(media);
  await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>wall</title><script type="module" src="/assets/index-abc123.js"></script>');
  await writeFile(path.join(webRoot, 'assets', 'index-abc123.js'), 'console.log("wall")');
  await writeFile(path.join(webRoot, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(path.join(media, 'cat.png'), PNG);
});

afterAll(async () => {
  await close();
  await rm(dir, { recursive: true, force: true });
});

const { start, close } = webServers(() => webRoot);

/** The directives of a CSP header, by name. */
function csp(header: string | null): Map<string, string[]> {
  expect(header).toBeTruthy();
  return new Map(
    header!
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('GET /config.json', () => {
  it('hands the page the broker, feeds, image hosts and cap, never cached', async () => {
    const base = await start({
      brokerUrls: ['ws://broker-a:61614', 'wss://broker-b.example/stomp'],
      feeds: [
        { name: 'cats', title: 'Cats' },
        { name: 'dogs', title: 'Good dogs' },
      ],
      imageHosts: ['http://localhost:8080', 'media.example.org'],
      maxItems: 60,
      heartbeatMs: 5_000,
    });
    const response = await fetch(`${base}/config.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      broker: { urls: ['ws://broker-a:61614', 'wss://broker-b.example/stomp'], profile: 'artemis' },
      feeds: [
        { name: 'cats', title: 'Cats' },
        { name: 'dogs', title: 'Good dogs' },
      ],
      imageHosts: ['pbs.twimg.com', 'cdn.bsky.app', 'http://localhost:8080', 'media.example.org'],
      maxItems: 60,
      statusTopic: '/topic/status.workers',
      heartbeatMs: 5_000,
      screen: { always: false, highlightMs: 8_000, quietMs: 30_000, versionCheckMs: 60_000 },
      branding: {},
    });
  });

  it('uses the defaults: ws://localhost:61614, feed cats, the default image hosts, 200 items, the workers’ status topic, 10 s heart-beats, no login', async () => {
    const base = await start();
    expect(await (await fetch(`${base}/config.json`)).json()).toEqual({
      broker: { urls: ['ws://localhost:61614'], profile: 'artemis' },
      feeds: [{ name: 'cats', title: 'Cats' }],
      imageHosts: ['pbs.twimg.com', 'cdn.bsky.app'],
      maxItems: 200,
      statusTopic: '/topic/status.workers',
      heartbeatMs: 10_000,
      screen: { always: false, highlightMs: 8_000, quietMs: 30_000, versionCheckMs: 60_000 },
      branding: {},
    });
  });

  it('hands the page screen mode and the wall’s branding, checked and normalised', async () => {
    const base = await start({
      screen: { always: true, highlightMs: 1_500 },
      branding: { title: ' Caturday Live ', logo: '/favicon.svg', accent: '#E5A', callToAction: 'Post with #caturday to appear here', callToActionUrl: 'https://bsky.app/search?q=%23caturday' },
    });
    expect(await (await fetch(`${base}/config.json`)).json()).toMatchObject({
      screen: { always: true, highlightMs: 1_500, quietMs: 30_000, versionCheckMs: 60_000 },
      branding: { title: 'Caturday Live', logo: '/favicon.svg', accent: '#ee55aa', callToAction: 'Post with #caturday to appear here', callToActionUrl: 'https://bsky.app/search?q=%23caturday' },
    });
  });

  it('names the status topic the workers publish to, or none', async () => {
    const eu = await start({ statusTopic: '/topic/status.eu' });
    expect(await (await fetch(`${eu}/config.json`)).json()).toMatchObject({ statusTopic: '/topic/status.eu' });
    const none = await start({ statusTopic: '' });
    expect(await (await fetch(`${none}/config.json`)).json()).toMatchObject({ statusTopic: '' });
  });

  it('includes the viewer login when one is configured', async () => {
    const base = await start({ viewerLogin: 'viewer', viewerPasscode: 's3cret' });
    const config = (await (await fetch(`${base}/config.json`)).json()) as { broker: unknown };
    expect(config.broker).toEqual({ urls: ['ws://localhost:61614'], profile: 'artemis', login: 'viewer', passcode: 's3cret' });
  });

  it('names the broker profile, and defaults to that profile’s local broker URL', async () => {
    const base = await start({ brokerProfile: 'rabbitmq' });
    expect(await (await fetch(`${base}/config.json`)).json()).toMatchObject({
      broker: { urls: ['ws://localhost:15675/ws'], profile: 'rabbitmq' },
      statusTopic: '/topic/status.workers',
    });
    const listed = await start({ brokerProfile: 'rabbitmq', brokerUrls: ['wss://rabbit.example/ws'] });
    expect(await (await fetch(`${listed}/config.json`)).json()).toMatchObject({ broker: { urls: ['wss://rabbit.example/ws'], profile: 'rabbitmq' } });
  });
});

describe('Content-Security-Policy', () => {
  it('allows WebSockets to exactly the broker URLs and images from exactly the allow-list', async () => {
    const base = await start({ brokerUrls: ['ws://127.0.0.1:26614', 'wss://broker.example/ws'], imageHosts: ['http://localhost:9999'] });
    const response = await fetch(`${base}/`);
    const directives = csp(response.headers.get('content-security-policy'));
    expect(directives.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:26614', 'wss://broker.example/ws']);
    expect(directives.get('img-src')).toEqual(["'self'", 'https://pbs.twimg.com', 'https://cdn.bsky.app', 'http://localhost:9999']);
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('worker-src')).toEqual(['blob:']);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('require-trusted-types-for')).toEqual(["'script'"]);
    expect(directives.get('trusted-types')).toEqual(['default']);
    expect(directives.has('upgrade-insecure-requests')).toBe(false);
    expect(response.headers.get('content-security-policy')).not.toMatch(/upgrade-insecure-requests|unsafe-inline|unsafe-eval/);
  });

  it('is sent with every response, config.json included', async () => {
    const base = await start();
    const response = await fetch(`${base}/config.json`);
    expect(csp(response.headers.get('content-security-policy')).get('connect-src')).toEqual(["'self'", 'ws://localhost:61614']);
  });
});

describe('static files', () => {
  it('serves index.html at / with no-cache and hashed assets as immutable', async () => {
    const base = await start();
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('/assets/index-abc123.js');

    const asset = await fetch(`${base}/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe('console.log("wall")');

    const favicon = await fetch(`${base}/favicon.svg`);
    expect(favicon.status).toBe(200);
    expect(favicon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers 404 for anything else (no SPA fallback)', async () => {
    const base = await start();
    const response = await fetch(`${base}/no/such/page`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('not found');
    expect((await fetch(`${base}/../../etc/passwd`)).status).toBe(404);
  });

  it('answers /healthz', async () => {
    const base = await start();
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
  });

  it('does not announce Express', async () => {
    const base = await start();
    expect((await fetch(`${base}/`)).headers.get('x-powered-by')).toBeNull();
  });
});

describe('demo media', () => {
  it('serves the directory at /demo/media/ when configured', async () => {
    const base = await start({ demoMedia: media });
    const response = await fetch(`${base}/demo/media/cat.png`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer()).equals(PNG)).toBe(true);
    expect((await fetch(`${base}/demo/media/missing.png`)).status).toBe(404);
  });

  it('answers 404 at /demo/media/ when not configured, and does not guess the own origin as an image host', async () => {
    const base = await start();
    expect((await fetch(`${base}/demo/media/cat.png`)).status).toBe(404);
    const withMedia = await start({ demoMedia: media });
    const config = (await (await fetch(`${withMedia}/config.json`)).json()) as { imageHosts: string[] };
    expect(config.imageHosts).toEqual(['pbs.twimg.com', 'cdn.bsky.app']);
  });
});

describe('options from the environment', () => {
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ LIVEWALL_WEB_ROOT: webRoot, ...extra });

  it('has the documented defaults', () => {
    const options = optionsFromEnv(env({}));
    expect(options).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      brokerUrls: ['ws://localhost:61614'],
      feeds: [{ name: 'cats', title: 'Cats' }],
      imageHosts: ['pbs.twimg.com', 'cdn.bsky.app'],
      demoMedia: undefined,
      viewerLogin: undefined,
      viewerPasscode: undefined,
      webRoot,
      maxItems: 200,
      heartbeatMs: 10_000,
      statusTopic: '/topic/status.workers',
      brokerProfile: 'artemis',
    });
  });

  it('reads every variable', () => {
    const options = optionsFromEnv(
      env({
        LIVEWALL_WEB_PORT: '9090',
        LIVEWALL_WEB_HOST: '127.0.0.1',
        LIVEWALL_BROKER_WS_URLS: 'ws://a:61614, wss://b.example/ws',
        LIVEWALL_FEEDS: 'cats:Cats, dogs:Good dogs,birds',
        LIVEWALL_IMAGE_HOSTS: 'http://localhost:9090,media.example.org',
        LIVEWALL_DEMO_MEDIA: media,
        LIVEWALL_VIEWER_LOGIN: 'viewer',
        LIVEWALL_VIEWER_PASSCODE: 'pw',
        LIVEWALL_MAX_ITEMS: '40',
        LIVEWALL_HEARTBEAT_MS: '4000',
        LIVEWALL_STATUS_TOPIC: ' /topic/status.eu ',
        LIVEWALL_BROKER_PROFILE: ' rabbitmq ',
        LIVEWALL_SCREEN: 'on',
        LIVEWALL_WALL_TITLE: 'Caturday',
        LIVEWALL_WALL_LOGO: 'https://media.example.org/logo.png',
        LIVEWALL_WALL_ACCENT: '#0a7',
        LIVEWALL_CALL_TO_ACTION: 'Post with #caturday',
        LIVEWALL_CALL_TO_ACTION_URL: 'https://example.org/caturday',
      }),
    );
    expect(options).toMatchObject({
      port: 9090,
      host: '127.0.0.1',
      brokerUrls: ['ws://a:61614', 'wss://b.example/ws'],
      feeds: [
        { name: 'cats', title: 'Cats' },
        { name: 'dogs', title: 'Good dogs' },
        { name: 'birds', title: 'birds' },
      ],
      imageHosts: ['pbs.twimg.com', 'cdn.bsky.app', 'http://localhost:9090', 'media.example.org'],
      demoMedia: media,
      viewerLogin: 'viewer',
      viewerPasscode: 'pw',
      maxItems: 40,
      heartbeatMs: 4_000,
      statusTopic: '/topic/status.eu',
      brokerProfile: 'rabbitmq',
      screen: { always: true },
      branding: { title: 'Caturday', logo: 'https://media.example.org/logo.png', accent: '#00aa77', callToAction: 'Post with #caturday', callToActionUrl: 'https://example.org/caturday' },
    });
    expect(optionsFromEnv(env({ LIVEWALL_SCREEN: 'off' })).screen.always).toBe(false);
    expect(optionsFromEnv(env({})).screen.always).toBe(false);
  });

  it.each([
    ['LIVEWALL_WEB_PORT', 'eighty'],
    ['LIVEWALL_STATUS_TOPIC', 'status.workers'],
    ['LIVEWALL_STATUS_TOPIC', '/topic/status.#'],
    ['LIVEWALL_STATUS_TOPIC', '/topic/feed.cats'],
    ['LIVEWALL_WEB_PORT', '70000'],
    ['LIVEWALL_WEB_HOST', 'two words'],
    ['LIVEWALL_BROKER_WS_URLS', 'http://localhost:61614'],
    ['LIVEWALL_BROKER_WS_URLS', 'not a url'],
    ['LIVEWALL_BROKER_WS_URLS', 'ws://user:pw@localhost:61614'],
    ['LIVEWALL_BROKER_WS_URLS', ','],
    ['LIVEWALL_FEEDS', 'Cats'],
    ['LIVEWALL_FEEDS', 'cats,cats'],
    ['LIVEWALL_BROKER_PROFILE', 'kafka'],
    ['LIVEWALL_BROKER_PROFILE', 'RabbitMQ'],
    ['LIVEWALL_FEEDS', 'feed.cats'],
    ['LIVEWALL_IMAGE_HOSTS', 'http://example.com'],
    ['LIVEWALL_IMAGE_HOSTS', 'bad host!'],
    ['LIVEWALL_DEMO_MEDIA', '/no/such/directory'],
    ['LIVEWALL_VIEWER_PASSCODE', 'pw-without-login'],
    ['LIVEWALL_WS_PROXY', 'http://broker:61614'],
    ['LIVEWALL_WS_PROXY', 'ws://user:pw@broker:61614'],
    ['LIVEWALL_WS_PROXY_PATH', '/stomp-without-a-target'],
    ['LIVEWALL_WEB_ROOT', '/no/such/build'],
    ['LIVEWALL_MAX_ITEMS', '0'],
    ['LIVEWALL_HEARTBEAT_MS', '500'],
    ['LIVEWALL_HEARTBEAT_MS', '10s'],
    ['LIVEWALL_SCREEN', 'maybe'],
    ['LIVEWALL_WALL_TITLE', 'x'.repeat(81)],
    ['LIVEWALL_WALL_LOGO', 'https://evil.example/logo.png'],
    ['LIVEWALL_WALL_LOGO', '/../secret.png'],
    ['LIVEWALL_WALL_LOGO', 'javascript:alert(1)'],
    ['LIVEWALL_WALL_ACCENT', 'red'],
    ['LIVEWALL_WALL_ACCENT', '#12345'],
    ['LIVEWALL_WALL_ACCENT', '#fff;background:url(x)'],
    ['LIVEWALL_CALL_TO_ACTION', 'two\u0007lines'],
    ['LIVEWALL_CALL_TO_ACTION_URL', 'ftp://example.org/'],
  ])('rejects %s=%j, naming the variable', (variable, value) => {
    let thrown: unknown;
    try {
      optionsFromEnv(env({ [variable]: value }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OptionsError);
    expect((thrown as OptionsError).variable).toBe(variable);
    expect((thrown as Error).message).toMatch(new RegExp(`^${variable}: `));
  });

  it.each([
    ['LIVEWALL_WS_PROXY_PATH', 'stomp'],
    ['LIVEWALL_WS_PROXY_PATH', '/a b'],
    ['LIVEWALL_WS_PROXY_PATH', "/x';script-src"],
    ['LIVEWALL_WS_PROXY_PATH', '//stomp'],
  ])('rejects %s=%j with the proxy on, naming the variable', (variable, value) => {
    expect(() => optionsFromEnv(env({ LIVEWALL_WS_PROXY: 'ws://broker:61614', [variable]: value }))).toThrow(new RegExp(`^${variable}: `));
  });

  it('reads the proxy settings; with the proxy on, the broker URLs default to none', () => {
    const options = optionsFromEnv(env({ LIVEWALL_WS_PROXY: 'wss://broker.internal:61614/ws', LIVEWALL_WS_PROXY_PATH: '/live/stomp' }));
    expect(options.wsProxy?.target.href).toBe('wss://broker.internal:61614/ws');
    expect(options.wsProxy?.path).toBe('/live/stomp');
    expect(options.brokerUrls).toEqual([]);
    expect(optionsFromEnv(env({ LIVEWALL_WS_PROXY: 'ws://broker:61614' })).wsProxy?.path).toBe('/stomp');
    expect(optionsFromEnv(env({})).wsProxy).toBeUndefined();
  });

  it('createApp rejects bad options the same way', () => {
    expect(() => createApp({ webRoot, brokerUrls: ['https://broker.example'] })).toThrow(/^LIVEWALL_BROKER_WS_URLS: /);
    expect(() => createApp({ webRoot, feeds: [{ name: 'Not A Feed', title: 'x' }] })).toThrow(/^LIVEWALL_FEEDS: /);
    expect(() => createApp({ webRoot, imageHosts: ['ftp://files.example'] })).toThrow(/^LIVEWALL_IMAGE_HOSTS: /);
    expect(() => resolveOptions({ webRoot, brokerUrls: [] })).toThrow(/^LIVEWALL_BROKER_WS_URLS: /);
    expect(() => createApp({ webRoot, branding: { callToActionUrl: 'https://example.org/' } })).toThrow(/^LIVEWALL_CALL_TO_ACTION_URL: .*needs its words/);
    expect(() => createApp({ webRoot, screen: { highlightMs: 10 } })).toThrow(/^LIVEWALL_SCREEN: screen\.highlightMs/);
  });
});

describe('write credentials never reach the page', () => {
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ LIVEWALL_WEB_ROOT: webRoot, ...extra });

  it.each(['admin', 'publisher', 'Publisher', ' admin'])('refuses LIVEWALL_VIEWER_LOGIN=%j, a broker user who may write', (login) => {
    expect(() => optionsFromEnv(env({ LIVEWALL_VIEWER_LOGIN: login, LIVEWALL_VIEWER_PASSCODE: 'pw' }))).toThrow(
      /^LIVEWALL_VIEWER_LOGIN: .* is the broker's (admin|publisher) user, who may write; the page sends its login to every browser/,
    );
    expect(() => createApp({ webRoot, viewerLogin: login })).toThrow(OptionsError);
  });

  it.each(['LIVEWALL_ADMIN_PASSWORD', 'LIVEWALL_PUBLISHER_PASSWORD'])('refuses a viewer passcode equal to %s, without printing it', (variable) => {
    const secret = 'correct-horse-battery';
    let message = '';
    try {
      optionsFromEnv(env({ LIVEWALL_VIEWER_LOGIN: 'viewer', LIVEWALL_VIEWER_PASSCODE: secret, [variable]: secret }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(new RegExp(`^LIVEWALL_VIEWER_PASSCODE: is the broker's \\w+ password \\(${variable}\\)`));
    expect(message).not.toContain(secret);
  });

  it('accepts the viewer user with its own password', () => {
    const options = optionsFromEnv(
      env({ LIVEWALL_VIEWER_LOGIN: 'viewer', LIVEWALL_VIEWER_PASSCODE: 'view', LIVEWALL_ADMIN_PASSWORD: 'adm', LIVEWALL_PUBLISHER_PASSWORD: 'pub' }),
    );
    expect(options.viewerLogin).toBe('viewer');
  });

  it('the server does not start with the publisher login as the viewer login', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(main(env({ LIVEWALL_VIEWER_LOGIN: 'publisher', LIVEWALL_VIEWER_PASSCODE: 'pw', LIVEWALL_WEB_PORT: '0' }))).toBeUndefined();
      expect(process.exitCode).toBe(1);
      expect(errors).toHaveBeenCalledWith(expect.stringMatching(/^livewall web: LIVEWALL_VIEWER_LOGIN: "publisher" is the broker's publisher user/));
    } finally {
      process.exitCode = undefined;
      errors.mockRestore();
    }
  });
});
