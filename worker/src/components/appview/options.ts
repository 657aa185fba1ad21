import type { OptionValues, OptionsSchema } from '../../engine/types.js';

/** Bluesky's public AppView: answers `app.bsky.actor.getProfiles` without authentication. */
export const PUBLIC_APPVIEW = 'https://public.api.bsky.app';

/** The AppView's limit on actors per `getProfiles` request. */
export const MAX_ACTORS_PER_REQUEST = 25;

/** The options of `appview:`, as docs, lint and the runtime read them. */
export const appviewOptionsSchema = {
  url: {
    type: 'url',
    schemes: ['https', 'http'],
    default: PUBLIC_APPVIEW,
    doc: 'The AppView asked for profiles (GET /xrpc/app.bsky.actor.getProfiles, no authentication). Default: Bluesky\'s public one.',
  },
  maxWait: {
    type: 'duration',
    default: '500ms',
    doc: 'The longest a post waits for its author: past it the post goes on with the DID as its author (counted late). Later posts never overtake a waiting one.',
  },
  batchWindow: {
    type: 'duration',
    default: '25ms',
    doc: `How long the authors not in the cache are gathered into one request (at most ${MAX_ACTORS_PER_REQUEST} a request; a full batch goes at once).`,
  },
  cacheSize: { type: 'integer', default: 10_000, min: 1, max: 10_000_000, doc: 'Profiles kept; past it the least recently used one is forgotten.' },
  cacheTtl: {
    type: 'duration',
    default: '1h',
    doc: "How long a profile is used before it is asked for again (a new display name shows after at most this long; a new handle at once, from Jetstream's identity events).",
  },
  requestTimeout: { type: 'duration', default: '5s', doc: 'How long one getProfiles request may take; a late answer still fills the cache for later posts.' },
} as const satisfies OptionsSchema;

export interface AppviewOptions {
  /** The AppView's base URL, without a trailing slash. */
  url: string;
  maxWaitMs: number;
  batchWindowMs: number;
  cacheSize: number;
  cacheTtlMs: number;
  requestTimeoutMs: number;
}

/** The checked URI values, typed. */
export function appviewOptions(values: OptionValues): AppviewOptions {
  return {
    url: String(values.url).replace(/\/+$/, ''),
    maxWaitMs: values.maxWait as number,
    batchWindowMs: values.batchWindow as number,
    cacheSize: values.cacheSize as number,
    cacheTtlMs: values.cacheTtl as number,
    requestTimeoutMs: values.requestTimeout as number,
  };
}
