import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP proxy on loopback that a test can cut, to break a client's connection the way a flaky link does. */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Connections accepted so far. */
  connections = 0;
  /** While true, bytes from the target are dropped: the client's requests get through, no answer comes back. */
  silenceReplies = false;

  constructor(targetHost: string, targetPort: number) {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!this.silenceReplies) client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  /** Drops every open connection at once, mid-stream; new ones are still accepted, with replies flowing again. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
    this.silenceReplies = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
