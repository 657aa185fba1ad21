import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** What the link between the two sides is like; change it at any time, it applies to bytes sent from then on. */
export interface LinkShape {
  /** One-way delay added to every chunk, each direction (a 150 ms round trip is 75). */
  latencyMs: number;
  /** Bytes per second each way; 0 is unlimited. */
  bytesPerSecond: number;
}

/**
 * One direction of a connection through the proxy: chunks leave in order, each no earlier than its arrival plus the
 * latency, and no faster than the bandwidth allows.
 */
class Direction {
  private readonly queue: { chunk: Buffer; due: number }[] = [];
  /** What arrived while the link was down: TCP would keep retransmitting it, so it is delivered on restore. */
  private readonly held: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the link finishes sending what is queued (for the bandwidth). */
  private busyUntil = 0;
  /** The sending side has closed: once what is on its way is delivered, this side closes too. */
  private closing = false;

  constructor(
    private readonly to: Socket,
    private readonly shape: () => LinkShape,
    private readonly down: () => boolean,
    private readonly dropping: () => boolean = () => false,
  ) {}

  push(chunk: Buffer): void {
    if (this.dropping()) return;
    if (this.down()) {
      this.held.push(chunk);
      return;
    }
    const { latencyMs, bytesPerSecond } = this.shape();
    if (latencyMs === 0 && bytesPerSecond === 0 && this.queue.length === 0) {
      this.to.write(chunk);
      return;
    }
    const now = Date.now();
    const sendTime = bytesPerSecond > 0 ? (chunk.length / bytesPerSecond) * 1000 : 0;
    this.busyUntil = Math.max(now, this.busyUntil) + sendTime;
    this.queue.push({ chunk, due: this.busyUntil + latencyMs });
    this.schedule();
  }

  /** The link is up again: what was held goes out, in order, as if just sent. */
  release(): void {
    for (const chunk of this.held.splice(0)) this.push(chunk);
    this.closeIfDelivered();
  }

  /**
   * The sending side closed (its FIN): the bytes still on their way arrive first, as they would over TCP, and then
   * this side is closed. Closing at once would cut off a reply the latency is still holding back.
   */
  closeWhenDelivered(): void {
    this.closing = true;
    this.closeIfDelivered();
  }

  clear(): void {
    this.held.length = 0;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const first = this.queue[0] as { due: number };
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      while (this.queue.length > 0 && (this.queue[0] as { due: number }).due <= now) {
        const { chunk } = this.queue.shift() as { chunk: Buffer };
        if (!this.to.destroyed) this.to.write(chunk);
      }
      this.schedule();
      this.closeIfDelivered();
    }, Math.max(0, first.due - Date.now()));
  }

  private closeIfDelivered(): void {
    if (this.closing && this.queue.length === 0 && this.held.length === 0 && !this.to.destroyed) this.to.end();
  }
}

/**
 * A TCP proxy on loopback that plays a wide-area link for tests: latency and bandwidth each way, and on command a cut
 * (every connection reset), a blackhole (connections stay open but nothing gets through, as when a route between
 * regions fails and TCP notices nothing; what was sent meanwhile arrives when the link comes back, as TCP's
 * retransmissions would deliver it), or silenced replies (dropped: a one-way failure).
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly directions = new Set<Direction>();
  /** Connections accepted so far. */
  connections = 0;
  /** While true, bytes from the target are dropped: the client's requests get through, no answer comes back. */
  silenceReplies = false;
  /** While true, nothing gets through either way, and new connections wait before reaching the target. */
  private blackholed = false;
  private readonly held = new Set<Socket>();
  shape: LinkShape = { latencyMs: 0, bytesPerSecond: 0 };

  constructor(
    private readonly targetHost: string,
    private targetPort: number,
    shape: Partial<LinkShape> = {},
  ) {
    this.shape = { ...this.shape, ...shape };
    this.server = createServer((client) => this.accept(client));
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  /** Points new connections at another port (a broker that came back elsewhere). */
  retarget(port: number): void {
    this.targetPort = port;
  }

  /** Drops every open connection at once, mid-stream; new ones are still accepted, with replies flowing again. */
  cut(): void {
    for (const socket of [...this.sockets, ...this.held]) socket.destroy();
    this.held.clear();
    for (const direction of this.directions) direction.clear();
    this.silenceReplies = false;
  }

  /** From now on nothing gets through, either way, on open or new connections, until `restore()`. */
  blackhole(): void {
    this.blackholed = true;
  }

  /**
   * The link works again: what was sent meanwhile on connections still open is delivered, and connections opened
   * meanwhile reach the target now (those whose client gave up are gone).
   */
  restore(): void {
    this.blackholed = false;
    for (const direction of this.directions) direction.release();
    const waiting = [...this.held];
    this.held.clear();
    for (const client of waiting) if (!client.destroyed) this.forward(client, client.read() as Buffer | null);
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections++;
    client.on('error', () => client.destroy());
    if (this.blackholed) {
      // Nothing read yet: what the client sends stays in its socket until the link is back.
      client.pause();
      this.held.add(client);
      client.on('close', () => this.held.delete(client));
      return;
    }
    this.forward(client, null);
  }

  private forward(client: Socket, early: Buffer | null): void {
    const upstream = connect(this.targetPort, this.targetHost);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const shape = (): LinkShape => this.shape;
    const down = (): boolean => this.blackholed;
    const toUpstream = new Direction(upstream, shape, down);
    const toClient = new Direction(client, shape, down, () => this.silenceReplies);
    for (const direction of [toUpstream, toClient]) this.directions.add(direction);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        // A direction may still hold bytes for the side that is open (a blackhole keeps them until restore).
        if (client.destroyed && upstream.destroyed) {
          this.directions.delete(toUpstream);
          this.directions.delete(toClient);
        }
      });
      socket.on('error', () => socket.destroy());
    }
    if (early) toUpstream.push(early);
    client.on('data', (chunk: Buffer) => toUpstream.push(chunk));
    client.resume();
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk));
    client.on('close', () => toUpstream.closeWhenDelivered());
    upstream.on('close', () => toClient.closeWhenDelivered());
  }
}
