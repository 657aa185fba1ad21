import type { Post } from '../../post.js';

/** Replaces a URL prefix in every media URL: lets a recording's CDN URLs point at local copies of the images. */
export interface MediaRewrite {
  from: string;
  to: string;
}

function rewrite(url: string | undefined, rule: MediaRewrite): string | undefined {
  return url?.startsWith(rule.from) ? rule.to + url.slice(rule.from.length) : url;
}

export function rewriteMedia(post: Post, rule: MediaRewrite): Post {
  return {
    ...post,
    media: post.media.map((media) => {
      const rewritten = { ...media };
      const url = rewrite(media.url, rule);
      const previewUrl = rewrite(media.previewUrl, rule);
      if (url !== undefined) rewritten.url = url;
      if (previewUrl !== undefined) rewritten.previewUrl = previewUrl;
      return rewritten;
    }),
  };
}

/**
 * Presents a replayed post as new: created now, and on later passes through a looping recording an id of its
 * own (`<id>-p<pass>`), so that a looping demo keeps adding tiles instead of repeating ids the page has seen.
 */
export function restamp(post: Post, pass: number, now: Date): Post {
  const nativeId = pass > 1 ? `${post.nativeId}-p${pass}` : post.nativeId;
  return { ...post, nativeId, createdAt: now.toISOString() };
}
