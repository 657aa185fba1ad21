import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Worker, server and tests import the contract from its TypeScript source; the built package is for Node at run time.
const alias = { '@livewall/contract': fileURLToPath(new URL('./contract/src/index.ts', import.meta.url)) };
const exclude = ['**/node_modules/**', '**/dist/**', '.run/**', '.cache/**'];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          // They run beside the integration tests' brokers and Chromium on two CPUs: a 10,000-case property test
          // that takes 1 s alone can take more than vitest's default 5 s then.
          testTimeout: 20_000,
          globalSetup: ['test/build-setup.ts'],
          exclude: [...exclude, '**/*.it.test.ts'],
        },
      },
      {
        resolve: { alias },
        test: {
          // Against a real Artemis (its own instance and ports, started once for the run) and a real Chromium.
          name: 'integration',
          include: ['**/*.it.test.ts'],
          exclude,
          globalSetup: ['test/build-setup.ts', 'test/broker-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
