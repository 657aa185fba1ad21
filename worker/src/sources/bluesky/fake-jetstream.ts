/**
 * A Jetstream just big enough for tests of the jetstream: component: a WebSocket server on 127.0.0.1 that sends
 * a scripted list of events (each with its time_us) to every subscriber, from the `cursor` it asks for, and then
 * stays quiet. On command it drops a connection after N events, or refuses the handshake with HTTP 503. It
 * records the URL of every connection attempt, so tests can assert cursors and failover.
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
  private dropAfter: number | undefined;
  private readonly server: Server;
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly requestWatchers: { count: number; resolve: () => void }[] = [];

  constructor(private readonly events: readonly ScriptedEvent[]) {
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
    socket.on('close', () => this.sockets.delete(socket));
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
