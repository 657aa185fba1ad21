import type { Exchange, Producer } from '../../engine/types.js';
import type { Post } from '../../post.js';
import type { Profile } from './cache.js';
import { verifiedHandle } from './get-profiles.js';
import { AUTHOR_OUTCOMES, type AuthorOutcome, type ProfileResolver, type Resolution } from './resolver.js';

/** What decodeJetstreamEvent makes of an `identity` event: an account's handle changed (or lost its verification). */
interface IdentityEvent {
  kind: 'identity';
  did: string;
  handle?: string;
}

const DONE: Promise<void> = Promise.resolve();

function isIdentityEvent(body: unknown): body is IdentityEvent {
  return (body as Partial<IdentityEvent> | undefined)?.kind === 'identity' && typeof (body as IdentityEvent).did === 'string';
}

/** The DID of a Bluesky post some feed takes; undefined for anything else (its author needs no lookup). */
function authorDid(body: unknown): string | undefined {
  const post = body as Partial<Post> | undefined;
  if (post?.network !== 'bluesky' || !Array.isArray(post.feeds) || post.feeds.length === 0) return undefined;
  const id = post.author?.id;
  return typeof id === 'string' && id.startsWith('did:') ? id : undefined;
}

/** The author as the wall shows it: `@handle` and the display name, linked to the profile; the DID without a handle. */
export function withProfile(post: Post, did: string, profile: Profile): Post {
  const handle = profile.handle ?? did;
  const author: Post['author'] = { id: did, handle, url: `https://bsky.app/profile/${handle}` };
  if (profile.displayName !== undefined) author.name = profile.displayName;
  return { ...post, author };
}

/**
 * The `appview:` endpoint: a request-reply producer, as Camel's enrichers are. Sent a Bluesky post, it replaces the
 * exchange's body with the post whose author has a handle and display name, and resolves once that is done — or
 * once `maxWait` is over, with the DID left as the author. Its sends resolve in the order they came, so a later post
 * whose author is cached does not overtake an earlier one that waits: the route keeps the source's order. Sent an
 * identity event, it updates the cached handle.
 */
export class ProfilesProducer implements Producer {
  private readonly outcomes = Object.fromEntries(AUTHOR_OUTCOMES.map((outcome) => [outcome, 0])) as Record<AuthorOutcome, number>;
  /** Resolves once every post sent so far has its author. */
  private turn: Promise<void> = DONE;

  constructor(private readonly resolver: ProfileResolver) {}

  start(): Promise<void> {
    this.resolver.start();
    return DONE;
  }

  send(exchange: Exchange): Promise<void> {
    const body = exchange.body;
    if (isIdentityEvent(body)) {
      this.resolver.identity(body.did, verifiedHandle(body.handle));
      return DONE;
    }
    const did = authorDid(body);
    if (did === undefined) return this.turn;
    const resolution = this.resolver.resolve(did);
    const done = Promise.all([this.turn, resolution]).then(([, { outcome, profile }]: [void, Resolution]) => {
      this.outcomes[outcome]++;
      if (profile) exchange.body = withProfile(body as Post, did, profile);
    });
    this.turn = done;
    return done;
  }

  /** Never holds the route back: without the AppView, posts go on with DIDs. */
  ready(): boolean {
    return true;
  }

  /**
   * Posts by how their author came out (`hit`, `resolved`, `unknown`, `late`, `failed`, `rateLimited`), the
   * lookups made (`lookups`, `lookupsFailed`, `lookupsRateLimited`), `identityUpdates`, and the `cached` profiles
   * and `waiting` authors now.
   */
  stats(): Readonly<Record<string, number>> {
    const { 'rate-limited': rateLimited, ...outcomes } = this.outcomes;
    return { ...outcomes, rateLimited, ...this.resolver.figures, cached: this.resolver.cached, waiting: this.resolver.waiting };
  }

  async stop(): Promise<number> {
    this.resolver.stop();
    await this.turn;
    return 0;
  }
}
