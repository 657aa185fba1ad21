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
}

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
