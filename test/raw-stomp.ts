import { connect as tcpConnect } from 'node:net';
import WebSocket from 'ws';

/**
 * Clients that speak STOMP frame by frame, as an attacker's script would: nothing between the test and the bytes on
 * the wire, and nothing that tidies up what the broker says. Every wait is bounded.
 */

export interface RawOutcome {
  /** The frames the broker sent, as text, in order (heart-beats left out). */
  frames: string[];
  /** Whether the broker closed the connection within the wait. */
  closed: boolean;
  /** Milliseconds from the connection's opening to its close, if it closed. */
  closedAfterMs?: number;
}

export interface RawOptions {
  /** The loopback address to connect from (127.0.0.x): the broker counts connections per client address. */
  from?: string;
  /** How long to wait for the broker to close the connection after the last frame went out. Default 2000 ms. */
  waitMs?: number;
}

/** The `message` header of each ERROR frame. */
export function errorMessages(outcome: RawOutcome): string[] {
  return outcome.frames.filter((frame) => frame.startsWith('ERROR\n')).map((frame) => /\nmessage:([^\n]*)/.exec(frame)?.[1] ?? '');
}

/** A STOMP frame: command, headers, optional body, and the NUL that ends it. */
export function frame(command: string, headers: Record<string, string> = {}, body = ''): string {
  return `${command}\n${Object.entries(headers).map(([key, value]) => `${key}:${value}\n`).join('')}\n${body}\0`;
}

/** CONNECT as the page does, anonymously unless `login` is given. */
export function connectFrame(login?: { login: string; passcode: string }, heartBeat = '0,0'): string {
  return frame('CONNECT', { 'accept-version': '1.2', host: 'localhost', 'heart-beat': heartBeat, ...(login ?? {}) });
}

/**
 * Opens a WebSocket (subprotocol v12.stomp), sends each chunk as one WebSocket message in turn (a chunk may be a
 * part of a frame), and collects what comes back until the broker closes or `waitMs` passes.
 */
export function rawWebSocket(url: string, chunks: (string | Buffer)[], options: RawOptions = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const frames: string[] = [];
    const opened = Date.now();
    const socket = new WebSocket(url, ['v12.stomp'], { localAddress: options.from ?? '127.0.0.1', maxPayload: 1 << 20 });
    let received = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      resolve({ frames, closed, ...(closed ? { closedAfterMs: Date.now() - opened } : {}) });
      socket.terminate();
    };
    socket.on('open', () => {
      for (const chunk of chunks) socket.send(chunk);
      timer = setTimeout(() => finish(false), options.waitMs ?? 2000);
    });
    socket.on('message', (data: Buffer) => {
      received += data.toString('utf8');
      const parts = received.split('\0');
      received = parts.pop() ?? '';
      frames.push(...parts.map((part) => part.replace(/^\n+/, '')).filter(Boolean));
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** Plain STOMP over TCP: writes `data` (in one go) and waits as rawWebSocket does. */
export function rawTcp(port: number, data: string | Buffer, options: RawOptions = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const frames: string[] = [];
    const opened = Date.now();
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress: options.from ?? '127.0.0.1' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ frames, closed, ...(closed ? { closedAfterMs: Date.now() - opened } : {}) });
      socket.destroy();
    };
    socket.on('connect', () => {
      socket.write(data);
      timer = setTimeout(() => finish(false), options.waitMs ?? 2000);
    });
    socket.on('data', (chunk) => frames.push(...chunk.toString('utf8').split('\0').map((part) => part.replace(/^\n+/, '')).filter(Boolean)));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}
