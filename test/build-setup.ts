import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Compiles the contract, the worker and the web server (`tsc -b`, incremental: under a second when nothing changed)
 * before any test runs. Tests that spawn the CLI (`worker/dist/cli.js`) or load a built module into a child process
 * then run the code as it is in the sources, never a stale build from before an edit.
 */
export default async function setup(): Promise<void> {
  try {
    await run(fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url)), ['-b'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`the build (tsc -b) failed, so tests that run the built worker would run stale code:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`, { cause: error });
  }
}
