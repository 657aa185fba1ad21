import { IMAGE_CLASSES, RISKY_IMAGE_CLASSES, type ImageClass, type RiskyImageClass } from '@livewall/contract';

/**
 * What the image classifier says about a picture: nsfwjs's five classes (its models are trained on these, in this
 * order), each with a probability; the five sum to about 1. The classes are the contract's: a pending item carries
 * its scores to the moderator page.
 */
export { IMAGE_CLASSES, type ImageClass };

/** One picture's probabilities, by class. */
export type ImageScores = Record<ImageClass, number>;

/** The classes a feed may set a threshold on: the three that a wall keeps off (Drawing and Neutral are what it wants). */
export const RISKY_CLASSES = RISKY_IMAGE_CLASSES;
export type RiskyClass = RiskyImageClass;

/** The class with the highest probability. */
export function topClass(scores: ImageScores): ImageClass {
  return IMAGE_CLASSES.reduce((best, name) => (scores[name] > scores[best] ? name : best));
}

/** The highest probability among the risky classes: how the moderator page orders its queue. */
export function risk(scores: ImageScores): number {
  return Math.max(...RISKY_CLASSES.map((name) => scores[name]));
}
