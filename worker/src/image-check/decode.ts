import { imageSize } from 'image-size';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import sharp from 'sharp';

/** The two decoders measured (docs/BENCHMARKS.md, Image check): libvips through sharp, or pure JS (jpeg-js, pngjs). */
export const DECODERS = ['sharp', 'js'] as const;
export type DecoderName = (typeof DECODERS)[number];

/** Why a picture was not decoded: counted in /metrics as the error's class. */
export type DecodeRefusal = 'unknown-format' | 'too-many-pixels' | 'undecodable';

export class ImageDecodeError extends Error {
  constructor(
    readonly reason: DecodeRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Pixels as the model takes them: RGB, 3 bytes a pixel, row by row. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The side of the model's square input (nsfwjs's MobileNetV2): sharp scales to it, the model scales what is larger. */
export const MODEL_SIDE = 224;

/**
 * Width and height as the file's header declares them, before anything is decoded; refuses a file that declares more
 * than `maxPixels` (a decompression bomb: a few kilobytes declaring 30,000 × 30,000 pixels would take gigabytes).
 */
export function checkedSize(bytes: Uint8Array, maxPixels: number): { width: number; height: number; type: string } {
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(bytes);
  } catch (error) {
    throw new ImageDecodeError('unknown-format', `not a picture the check reads: ${(error as Error).message}`);
  }
  const { width, height, type = 'unknown' } = size;
  if (!(width > 0 && height > 0)) throw new ImageDecodeError('unknown-format', `a ${type} without dimensions`);
  if (width * height > maxPixels) throw new ImageDecodeError('too-many-pixels', `${width} × ${height} pixels, more than ${maxPixels}`);
  return { width, height, type };
}

/** Decodes a picture (its size checked first, see checkedSize) into RGB for the model. */
export async function decodeRgb(bytes: Uint8Array, maxPixels: number, decoder: DecoderName): Promise<RgbImage> {
  const { type } = checkedSize(bytes, maxPixels);
  try {
    return decoder === 'sharp' ? await decodeWithSharp(bytes, maxPixels) : decodeWithJs(bytes, type, maxPixels);
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    throw new ImageDecodeError('undecodable', `a ${type} that does not decode: ${(error as Error).message}`);
  }
}

async function decodeWithSharp(bytes: Uint8Array, maxPixels: number): Promise<RgbImage> {
  // limitInputPixels: libvips checks the header too, for formats image-size reads differently. Scaling to the model's
  // side here (as nsfwjs would: fill, not cover) keeps the thread's tensors small whatever the picture's size; a JPEG or
  // WebP is decoded at 1/2, 1/4 or 1/8 scale to begin with when it is large enough (sharp's fastShrinkOnLoad, a default).
  const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
    .removeAlpha()
    .resize(MODEL_SIDE, MODEL_SIDE, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function decodeWithJs(bytes: Uint8Array, type: string, maxPixels: number): RgbImage {
  if (type === 'jpg') {
    const decoded = jpeg.decode(bytes, { formatAsRGBA: false, useTArray: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 512 });
    return { data: decoded.data, width: decoded.width, height: decoded.height };
  }
  if (type === 'png') {
    const png = PNG.sync.read(Buffer.from(bytes));
    const rgb = new Uint8Array(png.width * png.height * 3);
    for (let source = 0, target = 0; source < png.data.length; source += 4, target += 3) {
      rgb[target] = png.data[source] as number;
      rgb[target + 1] = png.data[source + 1] as number;
      rgb[target + 2] = png.data[source + 2] as number;
    }
    return { data: rgb, width: png.width, height: png.height };
  }
  throw new ImageDecodeError('unknown-format', `a ${type}: the js decoder reads jpeg and png only`);
}
