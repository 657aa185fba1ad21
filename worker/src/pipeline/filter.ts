import type { Media, Post } from '../post.js';

export interface ImageFilterOptions {
  /** Keep a video's or GIF's still image as a picture (true), or only photos (false). */
  videoPreviews: boolean;
}

/** The pictures of a post the wall can show: photos with a URL, and video/GIF stills when wanted. */
export function picturesOf(post: Post, options: ImageFilterOptions): Media[] {
  return post.media.filter((media) =>
    media.kind === 'photo' ? media.url !== undefined : options.videoPreviews && media.previewUrl !== undefined,
  );
}

/** Why a post is dropped before mapping, or undefined to keep it. The reason is a counter label. */
export function dropReason(post: Post, options: ImageFilterOptions): string | undefined {
  if (post.media.length === 0) return 'no-media';
  if (picturesOf(post, options).length === 0) return options.videoPreviews ? 'no-usable-image' : 'no-photo';
  return undefined;
}
