import type { ImageScores } from './classes.js';

/** What the worker sends its classifier thread: one picture's bytes (transferred, not copied). */
export interface ThreadRequest {
  id: number;
  bytes: Uint8Array;
  maxPixels: number;
}

/** What the thread answers: once `ready` or `fatal`, then the scores or the error of each request. */
export type ThreadReply =
  | { kind: 'ready'; tensors: number }
  | { kind: 'fatal'; message: string }
  | { kind: 'scores'; id: number; scores: ImageScores; tensors: number; decodeMs: number; inferMs: number }
  | { kind: 'error'; id: number; reason: string; message: string };
