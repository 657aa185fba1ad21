/**
 * The JSON of bodies that were already encoded once: the feed route's contract check measures an item's JSON, and
 * the `amqp:` producer sends that same JSON instead of encoding the item again. Keyed by the body object itself, so
 * a step that replaces the body (as steps do: they never change one in place, see components/hub) gets its new body
 * encoded afresh, and a body that is gone takes its JSON with it.
 */
const encoded = new WeakMap<object, string>();

/** Remembers that `body` encodes to `json` (exactly `JSON.stringify(body)`). */
export function rememberJson(body: object, json: string): void {
  encoded.set(body, json);
}

/** `body` as JSON: a string as it is, else the JSON remembered for it, else `JSON.stringify(body)`. */
export function jsonOf(body: unknown): string {
  if (typeof body === 'string') return body;
  if (typeof body === 'object' && body !== null) {
    const json = encoded.get(body);
    if (json !== undefined) return json;
  }
  return JSON.stringify(body);
}
