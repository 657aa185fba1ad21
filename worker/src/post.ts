import type { Network } from '@livewall/contract';

/**
 * A post as a source decoded it, before it becomes a feed item: the network's own fields, normalised, nothing
 * cleaned or checked yet. Sources make these; the pipeline filters and maps them.
 */
export interface Post {
  network: Network;
  /** The network's id for the post. */
  nativeId: string;
  /** https permalink. */
  url: string;
  /** `id`: the network's own id for the account when the handle may come later (Bluesky: the DID). */
  author: { id?: string; handle: string; name?: string; url?: string };
  /** As the network sent it (X escapes &, < and > as entities). */
  text: string;
  createdAt: string;
  media: Media[];
  /** The feeds the source matched the post to (X: the tags of its matching rules). */
  feeds: string[];
  /**
   * Set when the network flags the post as sensitive (adult or graphic media), with the network's own words for why:
   * X `possibly_sensitive`, Bluesky's self-label values (`porn`, `graphic-media`, …), Mastodon `sensitive`. Absent: not
   * flagged. Each feed's `sensitive:` setting decides whether such a post reaches its wall.
   */
  sensitive?: { reasons: string[] };
}

/** What a feed does with posts flagged sensitive (its `sensitive:` setting); the first is the default. */
export const SENSITIVE_MEDIA = ['drop', 'show'] as const;
export type SensitiveMedia = (typeof SENSITIVE_MEDIA)[number];

export interface Media {
  kind: 'photo' | 'video' | 'gif';
  /** Full-size image (photos). */
  url?: string;
  /** Still image of a video or GIF; for a Mastodon photo, the instance's small copy (`preview_url`), its thumbnail. */
  previewUrl?: string;
  alt?: string;
  width?: number;
  height?: number;
}
