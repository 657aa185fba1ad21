import type { EndpointContext, OptionsSchema } from '../../engine/types.js';

/** The options of `mastodon:`, as docs, lint and the runtime read them. */
export const mastodonOptionsSchema = {
  tag: { type: 'string', required: true, doc: 'The hashtag to follow, without #, e.g. cats.' },
  tokenEnv: {
    type: 'string',
    doc: 'Name of the environment variable holding a user access token. With one, the source streams (Mastodon ≥ 4.2 needs a token for hashtag streams); without, it polls. The token never appears in URIs or logs.',
  },
  interval: { type: 'duration', default: '30s', doc: 'Polling interval without a token. Be polite: instances rate-limit (300 requests per 5 min per IP).' },
  scheme: { type: 'enum', values: ['https', 'http'], default: 'https', doc: 'http only for a local test server.' },
  sensitive: { type: 'boolean', default: false, doc: 'Also offer statuses marked sensitive (media behind a content warning). Decode them with sensitive: true too.' },
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
  const options: MastodonOptions = {
    baseUrl: `${String(values.scheme)}://${uri.path}`,
    instance: new URL(`http://${uri.path}`).hostname,
    tag,
    intervalMs: Math.max(1000, values.interval as number),
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
