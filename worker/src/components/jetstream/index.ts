import { resolve } from 'node:path';
import type { Component } from '../../engine/types.js';
import type { CursorStore } from '../../outbox/cursors.js';
import { JetstreamConsumer } from './consumer.js';
import { jetstreamOptions, jetstreamOptionsSchema } from './options.js';

/**
 * `jetstream:` — Bluesky's Jetstream (every new post on the network, as JSON over a WebSocket), e.g.
 * `jetstream:?cursorFile=state/bluesky.cursor`. A live source that offers each message as text with `timeUs`;
 * `decodeJetstreamEvent` (sources/bluesky) makes posts of them.
 */
export const jetstreamComponent: Component = {
  scheme: 'jetstream',
  doc: "Reads Bluesky's Jetstream (app.bsky.feed.post events), failing over between endpoints and resuming from a cursor.",
  options: jetstreamOptionsSchema,
  path: { doc: 'unused: write jetstream: or jetstream:bluesky', required: false },
  createConsumer(context) {
    const options = jetstreamOptions(context.options);
    const cursorPath = options.cursorFile === undefined ? undefined : resolve(context.baseDir, options.cursorFile);
    const cursors = context.settings.cursors as CursorStore | undefined;
    return new JetstreamConsumer(options, cursorPath, context.clock, context.log.child({ endpoint: context.uri.raw }), cursors);
  },
};
