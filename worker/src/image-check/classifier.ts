import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ImageScores } from './classes.js';
import type { DecoderName } from './decode.js';
import type { BackendName } from './model.js';
import type { ThreadReply, ThreadRequest } from './protocol.js';

/** Classifies one picture's bytes; rejects with a ClassifyError. What the image check step needs (a test gives a fake). */
export interface ImageClassifier {
  classify(bytes: Uint8Array, maxPixels: number, signal: AbortSignal): Promise<ImageScores>;
}

/** Why a picture was not classified: a short fixed reason (`busy`, `too-many-pixels`, …), counted in /metrics. */
export class ClassifyError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ThreadClassifierOptions {
  backend: BackendName;
  decoder: DecoderName;
  /** Pictures waiting for the thread at most; one more is refused at once (`busy`), so a slow model cannot grow memory. */
  maxQueued: number;
  /** The thread's script; default thread.js beside this module (the built one when this runs from source, in tests). */
  script?: URL;
}

/** Defaults chosen by measurement on a 2-core machine (docs/BENCHMARKS.md, Image check). */
export const CLASSIFIER_DEFAULTS: ThreadClassifierOptions = { backend: 'wasm', decoder: 'sharp', maxQueued: 64 };

/** Pictures handed to the thread at once: one decoding (sharp works off the thread's loop) while one is classified. */
const IN_THREAD = 2;

/** After the model failed to load, pictures are refused at once for this long before it is tried again. */
const RETRY_LOAD_MS = 30_000;

interface Job {
  id: number;
  bytes: Uint8Array;
  maxPixels: number;
  signal: AbortSignal;
  resolve(scores: ImageScores): void;
  reject(error: ClassifyError): void;
}

/** thread.js beside this module; from the sources (vitest), the compiled one in dist/, since a thread runs plain JS. */
function defaultScript(): URL {
  const beside = new URL('./thread.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL(beside.href.replace('/worker/src/', '/worker/dist/'));
}

/**
 * The nsfwjs model in a worker thread of its own, loaded once (on `start`, or the first picture) and warmed up.
 * Pictures queue in order, at most `maxQueued`; one whose signal aborts while it waits leaves the queue untouched by
 * the model. A thread that dies fails what it held and is started again for the next picture.
 */
export class ThreadClassifier implements ImageClassifier {
  private readonly options: ThreadClassifierOptions;
  private thread?: Worker;
  private starting?: Promise<Worker>;
  /** The thread while it loads the model. */
  private loading?: Worker;
  private failedAt = -Infinity;
  private lastFailure = '';
  private nextId = 1;
  private readonly queued: Job[] = [];
  private readonly running = new Map<number, Job>();
  /** Tensors alive in the thread after its last answer: bounded memory shows as a constant. */
  tensors = 0;
  /** Where the thread's time went, summed over the pictures it scored: decoding (and scaling), and the model. */
  readonly spent = { pictures: 0, decodeMs: 0, inferMs: 0 };

  constructor(options: Partial<ThreadClassifierOptions> = {}) {
    this.options = { ...CLASSIFIER_DEFAULTS, ...options };
  }

  /** Loads the model now rather than with the first picture; rejects when it does not load. */
  async start(): Promise<void> {
    await this.ensureThread();
  }

  classify(bytes: Uint8Array, maxPixels: number, signal: AbortSignal): Promise<ImageScores> {
    if (this.queued.length >= this.options.maxQueued) return Promise.reject(new ClassifyError('busy', `${this.queued.length} pictures wait for the classifier already`));
    if (Date.now() - this.failedAt < RETRY_LOAD_MS) return Promise.reject(new ClassifyError('classifier-failed', this.lastFailure));
    return new Promise<ImageScores>((resolve, reject) => {
      const job: Job = { id: this.nextId++, bytes, maxPixels, signal, resolve, reject };
      this.queued.push(job);
      this.ensureThread().then(
        () => this.pump(),
        () => undefined,
      );
    });
  }

  /** Pictures waiting for the thread, and in it. */
  get depth(): number {
    return this.queued.length + this.running.size;
  }

  /** Ends the thread, loaded or still loading; what waited for it fails (`stopped`). */
  async stop(): Promise<void> {
    const thread = this.thread ?? this.loading;
    this.thread = undefined;
    this.loading = undefined;
    this.failAll('stopped', 'the classifier stopped');
    await thread?.terminate();
  }

  private ensureThread(): Promise<Worker> {
    if (this.thread) return Promise.resolve(this.thread);
    this.starting ??= this.spawn().then(
      (thread) => {
        this.thread = thread;
        this.starting = undefined;
        return thread;
      },
      (error: Error) => {
        this.starting = undefined;
        this.failedAt = Date.now();
        this.lastFailure = error.message;
        this.failAll('classifier-failed', error.message);
        throw error;
      },
    );
    return this.starting;
  }

  private spawn(): Promise<Worker> {
    const { backend, decoder } = this.options;
    const thread = new Worker(this.options.script ?? defaultScript(), { workerData: { backend, decoder } });
    // The thread never keeps the process alive by itself: the worker exits when its routes are done.
    thread.unref();
    this.loading = thread;
    return new Promise((resolve, reject) => {
      const onStart = (reply: ThreadReply): void => {
        if (reply.kind === 'fatal') reject(new Error(reply.message));
        if (reply.kind !== 'ready') return;
        this.tensors = reply.tensors;
        thread.off('message', onStart);
        thread.on('message', (answer: ThreadReply) => this.answered(answer));
        if (this.loading === thread) this.loading = undefined;
        resolve(thread);
      };
      thread.on('message', onStart);
      thread.once('error', (error) => reject(error));
      thread.once('exit', (code) => {
        reject(new Error(`the classifier thread exited (${code}) while loading`));
        if (this.thread !== thread) return;
        this.thread = undefined;
        this.failAll('classifier-failed', `the classifier thread exited (${code})`);
      });
    });
  }

  private pump(): void {
    const thread = this.thread;
    while (thread && this.running.size < IN_THREAD && this.queued.length > 0) {
      const job = this.queued.shift() as Job;
      // Its item has its verdict already (timed out): the model need not look.
      if (job.signal.aborted) {
        job.reject(new ClassifyError('timeout', 'given up before it was classified'));
        continue;
      }
      this.running.set(job.id, job);
      const request: ThreadRequest = { id: job.id, bytes: job.bytes, maxPixels: job.maxPixels };
      thread.postMessage(request, job.bytes.buffer instanceof ArrayBuffer && job.bytes.byteLength === job.bytes.buffer.byteLength ? [job.bytes.buffer] : []);
    }
  }

  private answered(reply: ThreadReply): void {
    if (reply.kind !== 'scores' && reply.kind !== 'error') return;
    const job = this.running.get(reply.id);
    this.running.delete(reply.id);
    if (reply.kind === 'scores') {
      this.tensors = reply.tensors;
      this.spent.pictures += 1;
      this.spent.decodeMs += reply.decodeMs;
      this.spent.inferMs += reply.inferMs;
      job?.resolve(reply.scores);
    } else job?.reject(new ClassifyError(reply.reason, reply.message));
    this.pump();
  }

  private failAll(reason: string, message: string): void {
    for (const job of [...this.queued, ...this.running.values()]) job.reject(new ClassifyError(reason, message));
    this.queued.length = 0;
    this.running.clear();
  }
}
