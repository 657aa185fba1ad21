import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeRgb, ImageDecodeError, type DecoderName } from './decode.js';
import { loadModel, type BackendName } from './model.js';
import type { ThreadReply, ThreadRequest } from './protocol.js';

/**
 * The classifier's worker thread: loads the model once, then decodes and classifies one picture at a time, so the
 * worker's event loop (its routes) never waits behind TensorFlow.js. Replies `ready` once warmed up, or `fatal`.
 */
const { backend, decoder } = workerData as { backend: BackendName; decoder: DecoderName };
const port = parentPort;
if (!port) throw new Error('image-check/thread.js runs as a worker thread');

try {
  const model = await loadModel(backend);
  port.on('message', (request: ThreadRequest) => {
    void answer(request).then((reply) => port.postMessage(reply));
  });
  port.postMessage({ kind: 'ready', tensors: model.tensors() } satisfies ThreadReply);

  async function answer({ id, bytes, maxPixels }: ThreadRequest): Promise<ThreadReply> {
    try {
      const started = performance.now();
      const image = await decodeRgb(bytes, maxPixels, decoder);
      const decoded = performance.now();
      const scores = await model.classify(image);
      return { kind: 'scores', id, scores, tensors: model.tensors(), decodeMs: decoded - started, inferMs: performance.now() - decoded };
    } catch (error) {
      const reason = error instanceof ImageDecodeError ? error.reason : 'classifier';
      return { kind: 'error', id, reason, message: (error as Error).message };
    }
  }
} catch (error) {
  port.postMessage({ kind: 'fatal', message: `the image classifier did not load: ${(error as Error).message}` } satisfies ThreadReply);
}
