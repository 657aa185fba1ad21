import type { Component } from '../../engine/types.js';
import { MastodonConsumer } from './consumer.js';
import { mastodonOptions, mastodonOptionsSchema } from './options.js';

/**
 * `mastodon:INSTANCE?tag=TAG` — the statuses with media of one hashtag of one Mastodon instance, e.g.
 * `mastodon:mastodon.social?tag=cats`. A live source: it polls the tag timeline, or streams it when given a
 * token (`tokenEnv`). Each status is offered as its JSON text; decode it with `decodeMastodonJson`.
 */
export const mastodonComponent: Component = {
  scheme: 'mastodon',
  doc: 'Follows a hashtag on a Mastodon instance: polls its tag timeline, or streams it with a user token.',
  options: mastodonOptionsSchema,
  path: { doc: 'the instance host, e.g. mastodon:mastodon.social?tag=cats', required: true },
  createConsumer(context) {
    const options = mastodonOptions(context);
    const log = context.log.child({ endpoint: `mastodon:${context.uri.path}?tag=${options.tag}` });
    return new MastodonConsumer(options, context.clock, log);
  },
};
