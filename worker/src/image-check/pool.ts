import { availableParallelism } from 'node:os';
import type { ImageScores } from './classes.js';
import { CLASSIFIER_DEFAULTS, ThreadClassifier, type ImageClassifier, type ThreadClassifierOptions } from './classifier.js';

/** The most classifier threads: each holds a model (about 120 MB), and the routes need a core too. */
export const MAX_THREADS = 8;

/**
 * Classifier threads by default: one per core, at least one and at most two. TensorFlow.js's WASM backend runs one
 * core per thread in Node (no multi-threaded kernels there), so a second thread is what uses a second core; more
 * than two cost a model's memory each and, on the 2-core machine measured (docs/BENCHMARKS.md, Image check), had
 * no core left to run on.
 */
export function defaultThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.min(2, cores));
}

/**
 * Reads `LIVEWALL_IMAGE_CHECK_THREADS` (docs/environment.md): unset or empty is the default by core count; anything
 * but a whole number from 1 to MAX_THREADS is refused with a message that says so.
 */
export function threadsFromEnv(value: string | undefined): number {
  const text = value?.trim();
  if (!text) return defaultThreads();
  const threads = Number(text);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new Error(`LIVEWALL_IMAGE_CHECK_THREADS must be a whole number from 1 to ${MAX_THREADS}, not ${JSON.stringify(value)}`);
  return threads;
}

export interface ClassifierPoolOptions extends ThreadClassifierOptions {
  threads: number;
}

/**
 * Several classifier threads, each with the model loaded, behind one `classify`: a picture goes to the thread with
 * the fewest waiting. Pictures may then finish out of order; the image check step hands verdicts on in the order the
 * items came, so a feed's order holds. `maxQueued` bounds the pictures waiting in all the threads together.
 */
export class ClassifierPool implements ImageClassifier {
  private readonly threads: ThreadClassifier[];

  constructor(options: Partial<ClassifierPoolOptions> = {}) {
    const { threads: count = defaultThreads(), ...rest } = options;
    const each = { ...CLASSIFIER_DEFAULTS, ...rest };
    each.maxQueued = Math.max(1, Math.ceil(each.maxQueued / count));
    this.threads = Array.from({ length: count }, () => new ThreadClassifier(each));
  }

  /** Threads in the pool. */
  get size(): number {
    return this.threads.length;
  }

  /** Loads every thread's model at once; rejects when one does not load. */
  async start(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.start()));
  }

  classify(bytes: Uint8Array, maxPixels: number, signal: AbortSignal): Promise<ImageScores> {
    const idlest = this.threads.reduce((best, thread) => (thread.depth < best.depth ? thread : best));
    return idlest.classify(bytes, maxPixels, signal);
  }

  /** Pictures waiting for the threads, and in them. */
  get depth(): number {
    return this.threads.reduce((sum, thread) => sum + thread.depth, 0);
  }

  /** Tensors alive in all the threads after their last answers. */
  get tensors(): number {
    return this.threads.reduce((sum, thread) => sum + thread.tensors, 0);
  }

  /** Where the threads' time went, summed over them (ThreadClassifier.spent). */
  get spent(): ThreadClassifier['spent'] {
    const sum = { pictures: 0, decodeMs: 0, inferMs: 0 };
    for (const { spent } of this.threads) for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += spent[key];
    return sum;
  }

  async stop(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.stop()));
  }
}
