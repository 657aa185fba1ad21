import { realpathSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { OptionsError, optionsFromEnv, resolveOptions, type ResolvedOptions, type WebOptions } from './options.js';
import { sameOriginWsUrl, UpgradeHandler } from './ws-proxy.js';

export { ENV, DEFAULTS, OptionsError, optionsFromEnv, resolveOptions, type WebOptions, type ResolvedOptions } from './options.js';
export { UpgradeHandler } from './ws-proxy.js';

/**
 * What the page reads at /config.json (see web/src/config.ts). `proxyUrl`, the same-origin WebSocket proxy as this
 * request reaches it, comes first when the proxy is on.
 */
export function pageConfig(options: ResolvedOptions, proxyUrl?: string): object {
  return {
    broker: {
      urls: proxyUrl === undefined ? options.brokerUrls : [proxyUrl, ...options.brokerUrls],
      profile: options.brokerProfile,
      ...(options.viewerLogin !== undefined ? { login: options.viewerLogin, passcode: options.viewerPasscode ?? '' } : {}),
    },
    feeds: options.feeds,
    imageHosts: options.imageHosts,
    maxItems: options.maxItems,
    statusTopic: options.statusTopic,
    heartbeatMs: options.heartbeatMs,
    screen: options.screen,
    branding: options.branding,
  };
}

/**
 * What the moderator page reads at /moderate/config.json (see web/src/moderate/): the shape of /config.json, with the
 * moderator's broker URL and no login (the moderator types it into the page) and no worker status.
 */
export function moderatorConfig(options: ResolvedOptions): object {
  return {
    broker: { urls: [options.moderatorUrl], profile: options.brokerProfile },
    feeds: options.feeds,
    imageHosts: options.imageHosts,
    maxItems: options.maxItems,
    statusTopic: '',
    heartbeatMs: options.heartbeatMs,
  };
}

/** The moderator page's paths: its HTML (built as moderate.html) and its config; they get the moderator's CSP. */
export function isModeratorPath(path: string): boolean {
  return path === '/moderate' || path === '/moderate.html' || path.startsWith('/moderate/');
}

type DirectiveValue = string | ((req: IncomingMessage) => string);

/**
 * The Content-Security-Policy: only our own scripts and styles, WebSockets to exactly the broker URLs (and the
 * same-origin proxy as this request reaches it), images from the allow-list, blob: workers for stompjs's heart-beat
 * ticker, and Trusted Types enforced: string values reach HTML and script sinks only through the page's `default`
 * policy (web/src/trusted-types.ts), and no other policy may be made. No upgrade-insecure-requests: we serve plain
 * HTTP (a TLS proxy in front may add it). The moderator page (`page` 'moderator') gets the same policy, with the
 * moderator's broker URL as its only WebSocket.
 */
export function cspDirectives(options: ResolvedOptions, page: 'wall' | 'moderator' = 'wall'): Record<string, DirectiveValue[]> {
  const proxy = options.wsProxy;
  // Requests whose Host cannot make a URL never get here (createApp answers them 400).
  const proxySource = proxy ? [(req: IncomingMessage) => sameOriginWsUrl(req, proxy.path) ?? "'self'"] : [];
  // The moderator page connects to the moderator's broker URL alone; the wall never may.
  const connect = page === 'moderator' ? [options.moderatorUrl] : [...proxySource, ...options.brokerUrls];
  return {
    'default-src': ["'self'"],
    'base-uri': ["'none'"],
    'connect-src': ["'self'", ...connect],
    'img-src': ["'self'", ...options.allowList.cspSources()],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'worker-src': ['blob:'],
    'object-src': ["'none'"],
    'frame-ancestors': ["'none'"],
    'form-action': ["'none'"],
    'require-trusted-types-for': ["'script'"],
    'trusted-types': ['default'],
  };
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The Express app: static page, /config.json, /healthz and (if configured) /demo/media/. Throws OptionsError. */
export function createApp(input: WebOptions | ResolvedOptions = {}): Express {
  const options = 'allowList' in input ? input : resolveOptions(input);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');

  const proxy = options.wsProxy;
  if (proxy) {
    // /config.json and the CSP name the proxy by this request's Host: one that is not a plain host[:port] is refused.
    app.use((req: Request, res: Response, next: NextFunction) => {
      if (sameOriginWsUrl(req, proxy.path) !== undefined) {
        next();
        return;
      }
      res.status(400).set({ 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'" }).type('text/plain').send('bad Host header');
    });
  }

  const wallHeaders = helmet({ contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(options) }, xFrameOptions: { action: 'deny' } });
  const moderatorHeaders = helmet({ contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(options, 'moderator') }, xFrameOptions: { action: 'deny' } });
  app.use((req: Request, res: Response, next: NextFunction) => (isModeratorPath(req.path) ? moderatorHeaders : wallHeaders)(req, res, next));

  const config = JSON.stringify(pageConfig(options));
  app.get('/config.json', (req, res) => {
    const body = proxy ? JSON.stringify(pageConfig(options, sameOriginWsUrl(req, proxy.path))) : config;
    res.set('Cache-Control', 'no-store').type('application/json').send(body);
  });

  // The moderator page: its own config (the moderator's broker URL, never a login) and its HTML at /moderate.
  const moderatorBody = JSON.stringify(moderatorConfig(options));
  app.get('/moderate/config.json', (_req, res) => {
    res.set('Cache-Control', 'no-store').type('application/json').send(moderatorBody);
  });
  app.get(['/moderate', '/moderate/'], (_req, res, next) => {
    res.set('Cache-Control', 'no-cache');
    res.sendFile('moderate.html', { root: options.webRoot, dotfiles: 'deny' }, (error) => {
      // A build without the moderator page: the 404 below.
      if (error && !res.headersSent) next();
    });
  });

  app.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').type('text/plain').send('ok');
  });

  if (options.demoMedia !== undefined) {
    app.use(
      '/demo/media',
      // Demo images are public: another origin's page (the Vite dev server) may show them too.
      (_req: Request, res: Response, next: NextFunction) => {
        res.set('Cross-Origin-Resource-Policy', 'cross-origin');
        next();
      },
      express.static(options.demoMedia, { index: false, dotfiles: 'ignore', fallthrough: true, maxAge: '5m', redirect: false }),
    );
  }

  const assets = path.join(options.webRoot, 'assets') + path.sep;
  app.use(
    express.static(options.webRoot, {
      index: ['index.html'],
      dotfiles: 'ignore',
      redirect: false,
      cacheControl: false,
      setHeaders(res, filePath) {
        // Vite puts content-hashed files in assets/: they never change. Everything else is revalidated.
        res.setHeader('Cache-Control', filePath.startsWith(assets) ? IMMUTABLE : 'no-cache');
      },
    }),
  );

  app.use((_req, res) => {
    res.status(404).set('Cache-Control', 'no-store').type('text/plain').send('not found');
  });

  app.use((error: Error & { status?: number; statusCode?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = error.status ?? error.statusCode ?? 500;
    if (status >= 500) console.error(`livewall web: ${error.message}`);
    res.status(status).type('text/plain').send(status >= 500 ? 'internal error' : 'bad request');
  });

  return app;
}

function displayUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}/`;
}

/** Starts the server from the environment; exits 1 with a message naming the variable on a bad setting. */
export function main(env: NodeJS.ProcessEnv = process.env): Server | undefined {
  let options: ResolvedOptions;
  try {
    options = optionsFromEnv(env);
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    console.error(`livewall web: ${error.message}`);
    process.exitCode = 1;
    return undefined;
  }
  const app = createApp(options);
  const upgrades = new UpgradeHandler(options.wsProxy);
  const server = app.listen(options.port, options.host, (error?: Error) => {
    if (error) {
      console.error(`livewall web: cannot listen on ${options.host}:${options.port}: ${error.message}`);
      process.exit(1);
    }
    // No secrets here: the viewer passcode is never logged.
    const feeds = options.feeds.map((feed) => feed.name).join(', ');
    const media = options.demoMedia ? `, demo media from ${options.demoMedia}` : '';
    const proxy = options.wsProxy ? `; WebSocket proxy ${options.wsProxy.path} → ${options.wsProxy.target.href}` : '';
    console.log(
      `livewall web: listening on ${displayUrl(options.host, options.port)} (bind ${options.host}:${options.port}; broker (${options.brokerProfile}) ${options.brokerUrls.join(' ') || '(proxy only)'}${proxy}; feeds ${feeds}${media}; moderator page /moderate → ${options.moderatorUrl})`,
    );
  });
  server.on('upgrade', upgrades.listener);
  const shutdown = (): void => {
    upgrades.closeAll();
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return server;
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) main();
