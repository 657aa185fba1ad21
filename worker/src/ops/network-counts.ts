import type { Network } from '@livewall/contract';
import type { Exchange } from '../engine/types.js';

/** One network's figures in one feed. */
export interface NetworkFigures {
  /** Posts of this network the feed took (matched its keywords or rule), before its own steps decide on them. */
  received: number;
  /** Items of this network that went through every step of the feed's route: to its topic (or pending queue). */
  sent: number;
}

/**
 * Each feed's figures per network, for a feed that reads several (`networks: [x, bluesky, mastodon]`): what came
 * from each and what went out. The feed's route counts them with two steps (`countReceived`, `countSent`) that read
 * the header `network` the source route's decoder set. The figures live here, not in the route, so that a reload
 * that adds a network to a feed (and so replaces its route) keeps the other networks' figures; a feed or network
 * that leaves the config is forgotten (`retain`).
 */
export class NetworkCounts {
  private readonly feeds = new Map<string, Map<Network, NetworkFigures>>();

  /** A step (a transform that keeps the body) counting each exchange as received by `feed`. */
  countReceived(feed: string): (exchange: Exchange) => unknown {
    return (exchange) => {
      this.figures(feed, exchange).received += 1;
      return exchange.body;
    };
  }

  /** A step counting each exchange as sent by `feed`: the last of its route. */
  countSent(feed: string): (exchange: Exchange) => unknown {
    return (exchange) => {
      this.figures(feed, exchange).sent += 1;
      return exchange.body;
    };
  }

  /** Every feed's figures by network, for /status: `{ cats: { x: { received, sent }, bluesky: … } }`. */
  status(): Record<string, Partial<Record<Network, NetworkFigures>>> {
    return Object.fromEntries([...this.feeds].map(([feed, networks]) => [feed, Object.fromEntries([...networks].map(([network, figures]) => [network, { ...figures }]))]));
  }

  /** Every (feed, network) pair's figures, for /metrics. */
  *entries(): Iterable<{ feed: string; network: Network } & NetworkFigures> {
    for (const [feed, networks] of this.feeds) for (const [network, figures] of networks) yield { feed, network, ...figures };
  }

  /** Keeps the figures of these feeds' networks only (after a reload). */
  retain(feeds: readonly { name: string; networks: readonly Network[] }[]): void {
    const wanted = new Map(feeds.map((feed) => [feed.name, feed.networks]));
    for (const [feed, networks] of this.feeds) {
      const keep = wanted.get(feed);
      if (!keep) this.feeds.delete(feed);
      else for (const network of networks.keys()) if (!keep.includes(network)) networks.delete(network);
    }
  }

  private figures(feed: string, exchange: Exchange): NetworkFigures {
    const network = exchange.headers.network as Network;
    let networks = this.feeds.get(feed);
    if (!networks) this.feeds.set(feed, (networks = new Map()));
    let figures = networks.get(network);
    if (!figures) networks.set(network, (figures = { received: 0, sent: 0 }));
    return figures;
  }
}
