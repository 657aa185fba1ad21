/**
 * What the image classifier says about a picture: nsfwjs's five classes (its models are trained on these, in this
 * order), each with a probability; the five sum to about 1.
 */
export const IMAGE_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;
export type ImageClass = (typeof IMAGE_CLASSES)[number];

/** One picture's probabilities, by class. */
export type ImageScores = Record<ImageClass, number>;

/** The classes a feed may set a threshold on: the three that a wall keeps off (Drawing and Neutral are what it wants). */
export const RISKY_CLASSES = ['Porn', 'Hentai', 'Sexy'] as const satisfies readonly ImageClass[];
export type RiskyClass = (typeof RISKY_CLASSES)[number];

/** The class with the highest probability. */
export function topClass(scores: ImageScores): ImageClass {
  return IMAGE_CLASSES.reduce((best, name) => (scores[name] > scores[best] ? name : best));
}

/** The highest probability among the risky classes: how the moderator page orders its queue. */
export function risk(scores: ImageScores): number {
  return Math.max(...RISKY_CLASSES.map((name) => scores[name]));
}
