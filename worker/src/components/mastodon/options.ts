import type { EndpointContext, OptionsSchema } from '../../engine/types.js';

/** The options of `mastodon:`, as docs, lint and the runtime read them. */
export const mastodonOptionsSchema = {
  tag: { type: 'string', required: true, doc: 'The hashtag to follow, without #, e.g. cats.' },
  tokenEnv: {
    type: 'string',
    doc: 'Name of the environment variable holding a user access token. With one, the source streams (Mastodon ≥ 4.2 needs a token for hashtag streams); without, it polls. The token never appears in URIs or logs.',
  },
  interval: { type: 'duration', default: '30s', doc: 'Polling interval without a token. Be polite: instances rate-limit (300 requests per 5 min per IP).' },
  pagesPerPoll: {
    type: 'integer',
    default: 5,
    min: 1,
    max: 50,
    doc: 'The most timeline pages (40 statuses each, one request each) a poll reads when more statuses came since the last: oldest first, the rest with the next poll. A stream\'s backfill after a reconnect stops there too, and skips the rest (logged).',
  },
  idleTimeout: {
    type: 'duration',
    default: '45s',
    doc: 'Streaming only: silence longer than this (not even the :thump heartbeat Mastodon sends every 15 s) means the connection is dead: the source drops it, connects again and backfills. Keep it well above 15 s.',
  },
  scheme: { type: 'enum', values: ['https', 'http'], default: 'https', doc: 'http only for a local test server.' },
  sensitive: { type: 'boolean', default: false, doc: 'Also offer statuses marked sensitive (media behind a content warning), flagged. The feeds always ask for them and each feed decides with its sensitive: setting; set in sources.mastodon, true makes show the default of Mastodon feeds that do not say.' },
} as const satisfies OptionsSchema;

/** `host` or `host:port`: the instance, never a URL with a path or credentials. */
const INSTANCE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::\d{1,5})?$/;
/** A hashtag as Mastodon allows one: letters, digits, underscores, `·` (any script). */
const TAG = /^[\p{L}\p{N}_\u00b7\u200c]{1,100}$/u;

export interface MastodonOptions {
  /** `https://mastodon.social`, no trailing slash. */
  baseUrl: string;
  /** The instance's host name, which completes local handles and labels what it offers. */
  instance: string;
  tag: string;
  /** The user access token, when there is one; never logged. */
  token?: string;
  /** Where the token came from, for messages an operator can act on. */
  tokenEnv?: string;
  intervalMs: number;
  /** The most pages one poll (or backfill) reads. */
  pagesPerPoll: number;
  /** Streaming: how long a silent connection is trusted. */
  idleTimeoutMs: number;
  sensitive: boolean;
}

/** The checked URI values, typed, with the token read from the environment. */
export function mastodonOptions(context: Pick<EndpointContext, 'uri' | 'options'>, env: NodeJS.ProcessEnv = process.env): MastodonOptions {
  const { uri, options: values } = context;
  if (!INSTANCE.test(uri.path)) {
    throw new Error(`mastodon: "${uri.path}" is not an instance host; write the host only, e.g. mastodon:mastodon.social?tag=cats`);
  }
  const tag = String(values.tag).replace(/^#/, '');
  if (!TAG.test(tag)) throw new Error(`mastodon: "${String(values.tag)}" is not a hashtag Mastodon accepts (letters, digits and _ only)`);
  const idleTimeoutMs = values.idleTimeout as number;
  if (idleTimeoutMs < 1000) throw new Error(`mastodon: option idleTimeout must be at least 1s (Mastodon sends a heartbeat every 15 s: 45s is safe), not ${idleTimeoutMs} ms`);
  const options: MastodonOptions = {
    baseUrl: `${String(values.scheme)}://${uri.path}`,
    instance: new URL(`http://${uri.path}`).hostname,
    tag,
    intervalMs: Math.max(1000, values.interval as number),
    pagesPerPoll: values.pagesPerPoll as number,
    idleTimeoutMs,
    sensitive: values.sensitive === true,
  };
  const tokenEnv = values.tokenEnv as string | undefined;
  if (tokenEnv !== undefined) {
    const token = env[tokenEnv];
    if (!token) throw new Error(`mastodon: environment variable ${tokenEnv} (option tokenEnv) is empty or not set; it must hold a user access token for ${uri.path}`);
    options.token = token;
    options.tokenEnv = tokenEnv;
  }
  return options;
}
