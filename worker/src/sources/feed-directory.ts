import { EventEmitter } from 'node:events';
import type { Network } from '@livewall/contract';

/** What a source needs to know of a feed: its name, its keywords, and (X) the operator's own rule. */
export interface DirectoryFeed {
  name: string;
  network: Network;
  keywords: readonly string[];
  rule?: string;
}

/** A feed as the config has it: on one network or several, with one keyword list for all of them. */
export interface FeedOnNetworks {
  name: string;
  networks: readonly Network[];
  keywords: readonly string[];
  rule?: string;
}

/**
 * The feeds on `network`, each as that network's source sees it (the X rule only on X). A feed on several networks
 * is in each of their lists, with the same keywords.
 */
export function feedsOn(feeds: readonly (FeedOnNetworks | DirectoryFeed)[], network: Network): DirectoryFeed[] {
  return feeds
    .filter((feed) => ('networks' in feed ? feed.networks : [feed.network]).includes(network))
    .map(({ name, keywords, rule }) => ({ name, network, keywords: [...keywords], ...(rule === undefined || network !== 'x' ? {} : { rule }) }));
}

/** What `of` returns for a network without feeds: one array, so that it too stays the same until a change. */
const NO_FEEDS: readonly DirectoryFeed[] = Object.freeze([]);

/**
 * The configured feeds, per network, as the live sources and decoders read them while they run. A config reload
 * updates it in place and says which networks changed, so that X reconciles its rules and Bluesky matches the new
 * keywords without reconnecting. `of(network)` returns the same array until that network's feeds change (matchers
 * are compiled once per array).
 */
export class FeedDirectory extends EventEmitter<{ change: [Network] }> {
  private readonly byNetwork = new Map<Network, { key: string; feeds: readonly DirectoryFeed[] }>();

  constructor(feeds: readonly (FeedOnNetworks | DirectoryFeed)[] = []) {
    super();
    this.update(feeds);
  }

  of(network: Network): readonly DirectoryFeed[] {
    return this.byNetwork.get(network)?.feeds ?? NO_FEEDS;
  }

  /** Takes the feeds of a new config; emits `change` once for each network whose feeds differ. */
  update(feeds: readonly (FeedOnNetworks | DirectoryFeed)[]): Network[] {
    const changed: Network[] = [];
    for (const network of ['x', 'bluesky', 'mastodon'] as const) {
      const mine = feedsOn(feeds, network);
      const key = JSON.stringify(mine);
      if ((this.byNetwork.get(network)?.key ?? '[]') === key) continue;
      this.byNetwork.set(network, { key, feeds: mine });
      changed.push(network);
    }
    for (const network of changed) this.emit('change', network);
    return changed;
  }
}
