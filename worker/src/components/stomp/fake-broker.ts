/**
 * A STOMP 1.2 server just big enough for unit tests of the stomp: component: it logs in anyone but the passcode
 * "wrong", records every frame, answers receipts (unless told to hold them) and pushes MESSAGE frames to
 * subscribers. Header values it writes are not escaped: tests use plain ones.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Frame {
  command: string;
  headers: Record<string, string>;
  body: string;
}

export class FakeStompBroker {
  /** Every frame received, from every connection, in order. */
  readonly frames: Frame[] = [];
  /** While true, RECEIPTs for SEND frames are kept back until `releaseReceipts()`. */
  holdReceipts = false;
  private readonly heldReceipts: { socket: Socket; receipt: string }[] = [];
  /** When set, a SEND is answered with an ERROR frame with this message, and the connection is closed. */
  refuseSends: string | undefined;
  /** When set, a SUBSCRIBE is answered the same way (as Artemis's guard answers one to an address not there yet). */
  refuseSubscriptions: string | undefined;
  connections = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly subscribers = new Map<Socket, Frame[]>();
  private readonly frameWatchers: { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }[] = [];

  constructor() {
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  /** Resolves with the first frame (received already or still to come) that `match` accepts. */
  waitFor(match: (frame: Frame) => boolean): Promise<Frame> {
    const frame = this.frames.find(match);
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve) => this.frameWatchers.push({ match, resolve }));
  }

  /** Sends a MESSAGE to every subscription on `destination`. */
  publish(destination: string, body: string, headers: Record<string, string> = {}): void {
    for (const [socket, subscriptions] of this.subscribers) {
      for (const subscription of subscriptions.filter((s) => s.headers.destination === destination)) {
        write(socket, 'MESSAGE', { subscription: subscription.headers.id ?? '', destination, 'message-id': `m-${Math.random()}`, ...headers }, body);
      }
    }
  }

  /** Sends the RECEIPTs kept back, in order, and stops keeping them. */
  releaseReceipts(): void {
    this.holdReceipts = false;
    for (const { socket, receipt } of this.heldReceipts.splice(0)) write(socket, 'RECEIPT', { 'receipt-id': receipt }, '');
  }

  /** Drops every connection at once. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    this.subscribers.set(socket, []);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.subscribers.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\0')) !== -1) {
        const text = buffered.slice(0, end).replace(/^[\r\n]+/, '');
        buffered = buffered.slice(end + 1);
        this.handle(socket, parse(text));
      }
    });
  }

  private handle(socket: Socket, frame: Frame): void {
    this.frames.push(frame);
    for (const watcher of this.frameWatchers.filter((w) => w.match(frame))) {
      this.frameWatchers.splice(this.frameWatchers.indexOf(watcher), 1);
      watcher.resolve(frame);
    }
    const receipt = frame.headers.receipt;
    switch (frame.command) {
      case 'CONNECT':
      case 'STOMP':
        if (frame.headers.passcode === 'wrong') {
          write(socket, 'ERROR', { message: 'Security Error occurred: User name or password is invalid' }, '');
          socket.end();
        } else {
          write(socket, 'CONNECTED', { version: '1.2', 'heart-beat': '0,0' }, '');
        }
        return;
      case 'SEND':
        if (this.refuseSends !== undefined) {
          write(socket, 'ERROR', { message: this.refuseSends }, '');
          socket.end();
          return;
        }
        if (receipt === undefined) return;
        if (this.holdReceipts) this.heldReceipts.push({ socket, receipt });
        else write(socket, 'RECEIPT', { 'receipt-id': receipt }, '');
        return;
      case 'SUBSCRIBE':
        if (this.refuseSubscriptions !== undefined) {
          write(socket, 'ERROR', { message: this.refuseSubscriptions }, '');
          socket.end();
          return;
        }
        this.subscribers.get(socket)?.push(frame);
        break;
      case 'DISCONNECT':
        if (receipt !== undefined) write(socket, 'RECEIPT', { 'receipt-id': receipt }, '');
        socket.end();
        return;
    }
    if (receipt !== undefined) write(socket, 'RECEIPT', { 'receipt-id': receipt }, '');
  }
}

function parse(text: string): Frame {
  const blank = text.indexOf('\n\n');
  const head = blank === -1 ? text : text.slice(0, blank);
  const [command = '', ...lines] = head.split('\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (!(name in headers)) headers[name] = command === 'CONNECT' ? line.slice(colon + 1) : unescape(line.slice(colon + 1));
  }
  return { command, headers, body: blank === -1 ? '' : text.slice(blank + 2) };
}

/** STOMP 1.2 header escapes (CONNECT frames are not escaped). */
function unescape(value: string): string {
  return value.replace(/\\([\\cnr])/g, (_, code: string) => ({ c: ':', n: '\n', r: '\r' })[code] ?? '\\');
}

function write(socket: Socket, command: string, headers: Record<string, string>, body: string): void {
  const lines = Object.entries(headers).map(([name, value]) => `${name}:${value}`);
  socket.write(`${command}\n${lines.join('\n')}${lines.length ? '\n' : ''}\n${body}\0`);
}
