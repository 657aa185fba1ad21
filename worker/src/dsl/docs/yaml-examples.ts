import { parse, stringify } from 'yaml';
import { asMapping } from '../context.js';
import type { CodeBlock } from './markdown.js';

/**
 * A YAML example of docs/routes.md as config text: a section (`routes:`, `feeds:`) as it is, a list of routes under
 * `routes:`, and a list of steps as the steps of a route.
 */
export function exampleConfig(block: CodeBlock): string {
  const value: unknown = parse(block.code);
  if (asMapping(value)?.routes !== undefined || asMapping(value)?.feeds !== undefined) return block.code;
  if (!Array.isArray(value)) throw new Error(`docs/routes.md:${block.line}: a YAML example is a routes: section, a list of routes or a list of steps`);
  if (value.every((item) => asMapping(item)?.route !== undefined)) return stringify({ routes: value });
  return stringify({ routes: [{ route: { id: 'example', from: { uri: 'replay:x.ndjson', steps: value } } }] });
}
