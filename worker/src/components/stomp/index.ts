import type { Component } from '../../engine/types.js';
import { StompConsumer } from './consumer.js';
import { loggableUri, stompOptions, stompOptionsSchema } from './options.js';
import { StompProducer } from './producer.js';

/**
 * `stomp:DESTINATION` — STOMP 1.2 over plain TCP (stompit), e.g. `stomp:/topic/feed.cats`. As a producer it sends
 * JSON text, each message confirmed by a RECEIPT; as a consumer it subscribes (a live source) and reconnects
 * by itself. `livewall-worker tap FEED` reads a feed this way.
 */
export const stompComponent: Component = {
  scheme: 'stomp',
  doc: 'Sends to, or subscribes to, a STOMP destination over TCP; broker and login default to the stomp* settings.',
  options: stompOptionsSchema,
  path: { doc: 'the destination, e.g. stomp:/topic/feed.cats', required: true },
  createProducer(context) {
    const log = context.log.child({ endpoint: loggableUri(context.uri) });
    return new StompProducer(context.uri.path, stompOptions(context.options, context.settings), context.clock, log);
  },
  createConsumer(context) {
    const log = context.log.child({ endpoint: loggableUri(context.uri) });
    return new StompConsumer(context.uri.path, stompOptions(context.options, context.settings), context.clock, log);
  },
};
