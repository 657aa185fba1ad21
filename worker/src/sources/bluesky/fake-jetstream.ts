/**
 * A Jetstream just big enough for tests of the jetstream: component: a WebSocket server on 127.0.0.1 that sends
 * a scripted list of events (each with its time_us) to every subscriber, from the `cursor` it asks for, and then
 * stays quiet but answers pings, as Jetstream does. On command it sends one more event or a text frame of raw
 * bytes, drops a connection after N events, refuses the handshake with HTTP 503, stops answering pings, or lets its
 * open connections go silent. It records the URL of every connection attempt and counts the pings it gets, so tests
 * can assert cursors, failover and keep-alives.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface ScriptedEvent {
  time_us: number;
  [field: string]: unknown;
}

export class FakeJetstream {
  /** The request URL (`/subscribe?…`) of every connection attempt, refused ones included, in order. */
  readonly requests: string[] = [];
  /** While true, handshakes are answered with HTTP 503. */
  refuse = false;
  /** While false, pings go unanswered (events still flow): only messages show the connection lives. */
  answerPings = true;
  /** Pings received, on every connection, answered or not. */
  pings = 0;
  private dropAfter: number | undefined;
  private readonly events: ScriptedEvent[];
  private readonly server: Server;
  private readonly sockets = new Set<WebSocket>();
  /** Open connections that get nothing more: see `silence()`. */
  private readonly silenced = new Set<WebSocket>();
  // Pongs are sent by hand, so that a connection can stop answering.
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly requestWatchers: { count: number; resolve: () => void }[] = [];
  private readonly pingWatchers: { count: number; resolve: () => void }[] = [];

  constructor(events: readonly ScriptedEvent[]) {
    this.events = [...events];
    this.server = createServer((_request, response) => response.writeHead(426).end('WebSocket only'));
    this.server.on('upgrade', (request, socket, head) => {
      this.requests.push(request.url ?? '');
      for (const watcher of this.requestWatchers.filter((w) => this.requests.length >= w.count)) {
        this.requestWatchers.splice(this.requestWatchers.indexOf(watcher), 1);
        watcher.resolve();
      }
      if (this.refuse) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.serve(ws, new URL(request.url ?? '/', 'ws://localhost')));
    });
  }

  /** Starts listening; resolves with the base URL to give the component (`ws://127.0.0.1:PORT`). */
  listen(): Promise<string> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(`ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`)));
  }

  /** The next connection is closed (code 1011) right after its `count`-th event. */
  dropNextAfter(count: number): void {
    this.dropAfter = count;
  }

  /** Adds an event to the script and sends it to every open connection that is not silenced. */
  send(event: ScriptedEvent): void {
    this.events.push(event);
    for (const socket of this.sockets) if (!this.silenced.has(socket)) socket.send(JSON.stringify(event));
  }

  /** Sends `bytes` as they are, in a text frame, to every open connection that is not silenced: broken UTF-8 included. */
  sendText(bytes: Uint8Array): void {
    for (const socket of this.sockets) if (!this.silenced.has(socket)) socket.send(bytes, { binary: false });
  }

  /**
   * The open connections go silent: they stay open, but nothing more is sent on them and their pings go
   * unanswered, as on a half-open TCP connection or behind a proxy that stopped forwarding. Later connections are
   * served as usual.
   */
  silence(): void {
    for (const socket of this.sockets) this.silenced.add(socket);
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  /** Resolves once `count` pings have come (and, unless silent, been answered). */
  whenPinged(count: number): Promise<void> {
    if (this.pings >= count) return Promise.resolve();
    return new Promise((resolve) => this.pingWatchers.push({ count, resolve }));
  }

  /** Resolves once `count` connection attempts have been made. */
  whenRequested(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.requestWatchers.push({ count, resolve }));
  }

  /** The `cursor` of connection attempt `index`, or undefined when it asked for none. */
  cursorOf(index: number): number | undefined {
    const cursor = new URL(this.requests[index] ?? '/', 'ws://localhost').searchParams.get('cursor');
    return cursor === null ? undefined : Number(cursor);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: WebSocket, url: URL): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.silenced.delete(socket);
    });
    socket.on('ping', (data) => {
      if (this.answerPings && !this.silenced.has(socket)) socket.pong(data);
      this.pings++;
      for (const watcher of this.pingWatchers.filter((w) => this.pings >= w.count)) {
        this.pingWatchers.splice(this.pingWatchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    });
    const cursor = url.searchParams.get('cursor');
    const from = cursor === null ? Number.NEGATIVE_INFINITY : Number(cursor);
    const dropAfter = this.dropAfter;
    this.dropAfter = undefined;
    let sent = 0;
    for (const event of this.events) {
      if (event.time_us < from) continue;
      if (dropAfter !== undefined && sent >= dropAfter) break;
      socket.send(JSON.stringify(event));
      sent++;
    }
    // Close frames follow the data frames on the wire, so the client gets every event sent before the drop.
    if (dropAfter !== undefined) socket.close(1011, 'dropped by the test');
  }
}
