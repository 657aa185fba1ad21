import { unwatchFile, watchFile } from 'node:fs';

/**
 * Calls `onChange` when `file` changes, at most once per burst of writes. Polls the file's mtime, which also
 * follows editors that replace the file instead of writing it in place.
 */
export function watchConfig(file: string, onChange: () => void, intervalMs = 500): () => void {
  const listener = (current: { mtimeMs: number }, previous: { mtimeMs: number }): void => {
    if (current.mtimeMs !== previous.mtimeMs) onChange();
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}

/** Runs `task` for each trigger, one at a time; triggers during a run coalesce into one more run. */
export function serialized(task: () => Promise<void>): () => void {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = task().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return run;
}
