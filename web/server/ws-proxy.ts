import type { IncomingMessage } from 'node:http';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { WsProxyOptions } from './options.js';

/**
 * The optional same-origin WebSocket proxy (what Apache's mod_proxy_wstunnel did in the original deployment):
 * a browser that may only reach our origin opens `ws(s)://<our host>/stomp`, and the upgrade is tunnelled byte for
 * byte to the broker's STOMP acceptor. We never parse WebSocket frames; the broker's handshake answer goes back as
 * it came. Every other upgrade, and every upgrade when the proxy is off, gets 404.
 */

/** How long the broker may take to accept the TCP (and TLS) connection before the browser gets 504. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The only request headers passed on: what a WebSocket handshake needs, and Origin and User-Agent for the broker's
 * logs. Nothing else from the browser (Cookie, Authorization, forwarded-for claims) reaches the broker.
 */
const FORWARDED_HEADERS = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions', 'origin', 'user-agent'];

/** A Host header we are willing to echo into /config.json and the CSP: a name or [IPv6] address, and a port. */
const HOST = /^(?:[a-z0-9_](?:[a-z0-9_.-]{0,252})|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i;

/**
 * The proxy's URL as the browser must use it: ws: or wss: after the first X-Forwarded-Proto (a TLS proxy in front),
 * else after our own socket, and the request's Host. Undefined when the Host header is not a plain host[:port].
 */
export function sameOriginWsUrl(req: IncomingMessage, path: string): string | undefined {
  const host = req.headers.host;
  if (host === undefined || !HOST.test(host)) return undefined;
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  const secure = proto === 'https' ? true : proto === 'http' ? false : (req.socket as TLSSocket).encrypted === true;
  return `${secure ? 'wss' : 'ws'}://${host.toLowerCase()}${path}`;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 502: 'Bad Gateway', 504: 'Gateway Timeout' };

/** Answers an upgrade we will not make with a plain HTTP error, and closes the connection. */
function refuse(socket: Duplex, status: number): void {
  const body = `${REASONS[status]!.toLowerCase()}\n`;
  const response = `HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nCache-Control: no-store\r\n\r\n${body}`;
  // Closed once written, whether or not the client closes its side.
  socket.end(response, () => socket.destroy());
}

/** The handshake request as the broker gets it: the target's path and Host, the allowed headers only. */
function handshake(req: IncomingMessage, target: URL): string {
  const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`, 'Upgrade: websocket', 'Connection: Upgrade'];
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    // Node's parser refuses CR and LF in header values already; the check keeps that promise local.
    if (typeof value === 'string' && !/[\r\n]/.test(value)) lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Handles every 'upgrade' event of the HTTP server: tunnels the proxy's path (when on), refuses the rest. */
export class UpgradeHandler {
  private readonly tunnels = new Set<Duplex>();

  constructor(private readonly proxy: WsProxyOptions | undefined) {}

  /** Upgrade connections currently open through the proxy (browser side). */
  get open(): number {
    return this.tunnels.size;
  }

  /** The 'upgrade' listener, bound: `server.on('upgrade', handler.listener)`. */
  readonly listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    // The request target as sent, without its query: no URL parsing that could read `//host/stomp` as `/stomp`.
    const path = (req.url ?? '').split('?', 1)[0];
    if (this.proxy === undefined || path !== this.proxy.path) {
      refuse(socket, 404);
      return;
    }
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuse(socket, 400);
      return;
    }
    this.tunnel(req, socket, head, this.proxy.target);
  };

  /** Closes every open tunnel, both sides (on shutdown: server.close() leaves upgraded sockets alone). */
  closeAll(): void {
    for (const socket of this.tunnels) socket.destroy();
  }

  private tunnel(req: IncomingMessage, client: Duplex, head: Buffer, target: URL): void {
    const secure = target.protocol === 'wss:';
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.port) || (secure ? 443 : 80);
    const upstream: Socket = secure
      ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] })
      : tcpConnect({ host, port });
    this.tunnels.add(client);
    let piping = false;

    const timer = setTimeout(() => {
      refuse(client, 504);
      upstream.destroy();
    }, CONNECT_TIMEOUT_MS);
    upstream.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      piping = true;
      (client as Socket).setNoDelay?.(true);
      upstream.setNoDelay(true);
      upstream.write(handshake(req, target));
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', (error: Error) => {
      clearTimeout(timer);
      if (!piping) {
        console.error(`livewall web: WebSocket proxy cannot reach ${target.host}: ${error.message}`);
        refuse(client, 502);
      }
      upstream.destroy();
    });
    // Either side gone: the other goes too, so neither the broker nor the browser keeps a half-dead connection.
    client.on('close', () => {
      clearTimeout(timer);
      this.tunnels.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      if (piping) client.destroy();
    });
  }
}
