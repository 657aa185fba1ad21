/**
 * Helpers for tests of a feed's config sections: a config with a broker and a live Bluesky source, the test's lines
 * after them (so their line numbers start at 4), parsed without files or environment. Nothing outside tests imports
 * this file.
 */
import { ConfigError, parseConfig, type WorkerConfig } from './config.js';

export const BLUESKY_CONFIG_HEAD = ['broker: { url: "amqp://localhost:5672" }', 'sources:', '  bluesky: {}'];

export function blueskyConfig(lines: string[]): WorkerConfig {
  return parseConfig([...BLUESKY_CONFIG_HEAD, ...lines].join('\n'), 'worker.yaml', {});
}

/** The problems such a config has, `worker.yaml:line:column: message` each; none for a valid one. */
export function blueskyConfigProblems(lines: string[]): string[] {
  try {
    blueskyConfig(lines);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
}
