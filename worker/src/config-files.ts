import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The files a config names, checked where they are named: a file it reads must be there, a file it writes must have a
 * place to go. `run` refuses to start on the same problems `lint` reports, instead of retrying ENOENT for ever.
 */

/** Whether this process may read (R_OK) or write (W_OK) `path`. */
function may(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** Why `file` (resolved) cannot be read, or undefined when it can. */
export function unreadable(file: string): string | undefined {
  if (!existsSync(file)) return `no such file ${file}`;
  if (statSync(file).isDirectory()) return `${file} is a directory, not a file`;
  return may(file, constants.R_OK) ? undefined : `${file} is not readable`;
}

/**
 * Why `file` (resolved) cannot be written, or undefined when it can: its nearest existing ancestor must be a directory
 * this process may write to (the worker makes the missing folders below it).
 */
export function unwritable(file: string): string | undefined {
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) return `${file} is a directory, not a file`;
    return may(file, constants.W_OK) ? undefined : `${file} is not writable`;
  }
  let folder = dirname(file);
  while (!existsSync(folder)) folder = dirname(folder);
  if (!statSync(folder).isDirectory()) return `cannot create ${file}: ${folder} is a file, not a directory`;
  return may(folder, constants.W_OK) ? undefined : `cannot create ${file}: the directory ${folder} is not writable`;
}

/** The file a `file:` endpoint URI (a dead-letter target) writes, resolved against `base`; undefined for other URIs. */
export function fileOfUri(uri: string, base: string): string | undefined {
  const match = /^file:([^?]+)/.exec(uri);
  return match?.[1] ? resolve(base, decodeURIComponent(match[1])) : undefined;
}
