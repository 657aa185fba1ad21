import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type WebOptions } from '../server/server.js';

/**
 * The web server on a free loopback port, for the server's own tests: `start(options)` runs createApp with the
 * test's web root and resolves with its base URL; `close()` stops every server it started.
 */
export function webServers(webRoot: () => string): { start(options?: WebOptions): Promise<string>; close(): Promise<void> } {
  const servers: Server[] = [];
  return {
    async start(options = {}) {
      const app = createApp({ webRoot: webRoot(), ...options });
      const server = await new Promise<Server>((resolve, reject) => {
        const listening = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
      });
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
