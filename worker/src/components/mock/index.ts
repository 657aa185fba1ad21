import type { Component } from '../../engine/types.js';
import { MockConsumer } from './consumer.js';
import { mockOptions, mockOptionsSchema } from './options.js';
import { MockProducer } from './producer.js';

export { MockEndpoint, mockEndpoint, resetMocks, type ReceiveHook } from './endpoint.js';

/**
 * `mock:NAME` — for tests, after Camel's mock component. As a `to` it records what arrives (and can fail or lag);
 * as a `from` it offers what the test emits. The test reaches both through `mockEndpoint(NAME)`.
 */
export const mockComponent: Component = {
  scheme: 'mock',
  doc: 'For tests: records what is sent to it, or offers what a test emits; reached through mockEndpoint(name).',
  options: mockOptionsSchema,
  path: { doc: 'a name that tests pass to mockEndpoint(name), e.g. mock:published', required: true },
  createProducer(context) {
    return new MockProducer(context.uri.path, mockOptions(context.options), context.clock);
  },
  createConsumer(context) {
    return new MockConsumer(context.uri.path, mockOptions(context.options).live);
  },
};
