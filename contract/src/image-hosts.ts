/**
 * Which image URLs a feed item may carry.
 *
 * An entry is either a host name (`pbs.twimg.com`), which allows https URLs on that host, or an origin
 * (`http://localhost:8080`), which allows exactly that scheme, host and port. Plain http is accepted only for
 * loopback origins: browsers treat those as secure contexts, and the local demo serves its own images there.
 */

import { plainHttpsHost } from './plain-url.js';

/** Image hosts every deployment allows: X's and Bluesky's media CDNs. */
export const DEFAULT_IMAGE_HOSTS: readonly string[] = ['pbs.twimg.com', 'cdn.bsky.app'];

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

export class ImageAllowList {
  private readonly hosts = new Set<string>();
  private readonly origins = new Set<string>();

  /** Throws on an entry that is neither a host name nor an https or loopback origin. */
  constructor(entries: Iterable<string>) {
    for (const entry of entries) {
      if (entry.includes('://')) {
        let origin: URL;
        try {
          origin = new URL(entry);
        } catch {
          throw new Error(`image host ${JSON.stringify(entry)} is not a valid origin`);
        }
        if (origin.protocol !== 'https:' && !(origin.protocol === 'http:' && isLoopbackHost(origin.hostname))) {
          throw new Error(`image host ${JSON.stringify(entry)}: only https origins, or http on a loopback host, are allowed`);
        }
        this.origins.add(origin.origin);
      } else {
        if (!/^[a-z0-9.-]+$/i.test(entry) || entry.startsWith('.') || entry.endsWith('.')) {
          throw new Error(`image host ${JSON.stringify(entry)} is not a host name`);
        }
        this.hosts.add(entry.toLowerCase());
      }
    }
  }

  /** Why `url` is not allowed, or undefined when it is. */
  refusal(url: string): string | undefined {
    // The common case without the URL parser: https on a plain host name has no credentials and the origin https://host.
    const host = plainHttpsHost(url);
    if (host !== undefined) {
      if (this.hosts.has(host) || (this.origins.size > 0 && this.origins.has(`https://${host}`))) return undefined;
      return `host ${host} is not on the image allow-list`;
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'is not a URL';
    }
    // Before the origin match: a listed origin does not make a URL with credentials acceptable.
    if (parsed.username || parsed.password) return 'carries credentials';
    if (this.origins.has(parsed.origin)) return undefined;
    if (parsed.protocol !== 'https:') return 'is not https';
    if (!this.hosts.has(parsed.hostname)) return `host ${parsed.hostname} is not on the image allow-list`;
    return undefined;
  }

  /** The entries as CSP sources: `https://host` for host names, the origin itself for origins. */
  cspSources(): string[] {
    return [...[...this.hosts].map((host) => `https://${host}`), ...this.origins];
  }
}
