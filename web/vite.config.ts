import { randomBytes } from 'node:crypto';
import { defineConfig } from 'vite';

// The page imports the shared contract from its TypeScript source (as the tests do), so a build never depends
// on contract/dist being fresh.
const contractSource = decodeURIComponent(new URL('../contract/src/index.ts', import.meta.url).pathname);
const page = (file: string): string => decodeURIComponent(new URL(file, import.meta.url).pathname);

// `npm run dev` serves the page with hot reload; /config.json and the demo images come from the Express server
// (node web/dist-server/server.js), which must run on LIVEWALL_WEB_PORT 8080 for that.
const webServer = 'http://localhost:8080';

// Each build gets an id, baked into the page and written to /version.json (served no-cache, as everything outside
// assets/): a page in screen mode polls it and reloads itself when the server serves another build.
const buildId = `${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(4).toString('hex')}`;

export default defineConfig({
  define: { __LIVEWALL_BUILD__: JSON.stringify(buildId) },
  plugins: [
    {
      name: 'livewall-version',
      generateBundle() {
        this.emitFile({ type: 'asset', fileName: 'version.json', source: `${JSON.stringify({ build: buildId })}\n` });
      },
    },
  ],
  resolve: { alias: { '@livewall/contract': contractSource } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The page runs under Trusted Types (web/src/trusted-types.ts), whose policy must be the first code to run.
    // Vite's modulepreload polyfill would run before it, and every browser with Trusted Types has modulepreload.
    modulePreload: { polyfill: false },
    // Two pages: the wall, and the moderator's page (served by the web server at /moderate).
    rolldownOptions: { input: { main: page('./index.html'), moderate: page('./moderate.html') } },
  },
  server: {
    proxy: { '/config.json': webServer, '/moderate/config.json': webServer, '/demo/media': webServer },
  },
});
