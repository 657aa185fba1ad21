import type { Component } from '../../engine/types.js';
import { appviewOptions, appviewOptionsSchema } from './options.js';
import { ProfilesProducer } from './producer.js';
import { ProfileResolver } from './resolver.js';

/**
 * `appview:` — Bluesky authors as people know them: `to('appview:')` in a source route gives each Bluesky post its
 * author's handle and display name, from a cache or Bluesky's AppView (app.bsky.actor.getProfiles), within a
 * bounded wait and in order; an identity event sent to it refreshes a cached handle.
 */
export const appviewComponent: Component = {
  scheme: 'appview',
  doc: "Gives Bluesky posts their authors' handles and display names (AppView getProfiles, batched and cached), waiting at most maxWait.",
  options: appviewOptionsSchema,
  path: { doc: 'unused: write appview:', required: false },
  createProducer(context) {
    const options = appviewOptions(context.options);
    return new ProfilesProducer(new ProfileResolver(options, context.clock, context.log.child({ endpoint: context.uri.raw })));
  },
};
