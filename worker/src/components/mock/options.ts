import type { OptionValues, OptionsSchema } from '../../engine/types.js';

/** The options of `mock:`, as docs, lint and the runtime read them. */
export const mockOptionsSchema = {
  failFirst: { type: 'integer', default: 0, min: 0, doc: 'Producer: the first N sends of each producer reject with Error("mock failure") (after the delay).' },
  delay: { type: 'duration', default: '0ms', doc: 'Producer: each send waits this long on the route\'s clock before it is received.' },
  ready: { type: 'boolean', default: true, doc: 'Producer: what ready() answers, to stand for a broker that is down.' },
  live: { type: 'boolean', default: false, doc: 'Consumer: act as a live source (never paused; each emit is offered at once).' },
} as const satisfies OptionsSchema;

export interface MockOptions {
  failFirst: number;
  delay: number;
  ready: boolean;
  live: boolean;
}

/** The checked values, typed; resolveOptions has filled in every default. */
export function mockOptions(values: OptionValues): MockOptions {
  return { failFirst: values.failFirst as number, delay: values.delay as number, ready: values.ready === true, live: values.live === true };
}
