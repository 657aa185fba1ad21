import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { load, type NSFWJS } from 'nsfwjs';
import { IMAGE_CLASSES, type ImageClass, type ImageScores } from './classes.js';
import type { RgbImage } from './decode.js';

/** The two TensorFlow.js backends measured (docs/BENCHMARKS.md, Image check); neither downloads anything at install. */
export const BACKENDS = ['wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** nsfwjs's smallest model (MobileNetV2, 224 px, 3.5 MB of weights), which ships inside the npm package. */
const MODEL = 'MobileNetV2';

/** A loaded model: classifies RGB pixels. One per thread; TensorFlow.js's state is global to it. */
export interface LoadedModel {
  classify(image: RgbImage): Promise<ImageScores>;
  /** Tensors alive now: constant after warm-up, or the model leaks. */
  tensors(): number;
}

/**
 * Loads the model from the nsfwjs package on disk (its model and weights are JavaScript modules there, imported, not
 * fetched) on `backend`, and warms it up with one blank picture so that the first real one does not pay for the
 * kernels' set-up. The WASM backend's .wasm files are read from its own package folder.
 */
export async function loadModel(backend: BackendName): Promise<LoadedModel> {
  if (backend === 'wasm') setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js backend ${backend} did not start`);
  await tf.ready();
  tf.enableProdMode();
  const model = await quietly(() => load(MODEL));
  const loaded: LoadedModel = {
    async classify(image) {
      // int32, as nsfwjs expects pixels from a decoder; it scales to its side and normalises itself.
      const pixels = tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
      try {
        const predictions = await model.classify(pixels, IMAGE_CLASSES.length);
        const scores = Object.fromEntries(IMAGE_CLASSES.map((name) => [name, 0])) as ImageScores;
        for (const { className, probability } of predictions) scores[className as ImageClass] = probability;
        return scores;
      } finally {
        pixels.dispose();
      }
    },
    tensors: () => tf.memory().numTensors,
  };
  await loaded.classify({ data: new Uint8Array(224 * 224 * 3), width: 224, height: 224 });
  return loaded;
}

/**
 * nsfwjs and TensorFlow.js greet on the console (console.info, console.log) while the model loads: silenced then,
 * since the thread's console is the worker's stdout, which carries its JSON log.
 */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  /* eslint-disable no-console -- the one place that touches the console: to keep libraries off it */
  const { info, log } = console;
  console.info = () => undefined;
  console.log = () => undefined;
  try {
    return await work();
  } finally {
    console.info = info;
    console.log = log;
  }
  /* eslint-enable no-console */
}

export type { NSFWJS };
