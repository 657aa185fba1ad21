import type { Component, EndpointUri, OptionSpec, OptionValues } from './types.js';

/** A problem with a URI or one of its options; `option` names the offending option when there is one. */
export class UriError extends Error {
  constructor(
    message: string,
    readonly option?: string,
  ) {
    super(message);
  }
}

const SCHEME = /^([a-z][a-z0-9+.-]*):(.*)$/;

/** Splits `scheme:path?a=1&b=2`. The path keeps its slashes (`amqp:/topic/feed.cats`); options are URL-decoded. */
export function parseUri(raw: string): EndpointUri {
  const match = SCHEME.exec(raw.trim());
  if (!match) throw new UriError(`"${raw}" is not an endpoint URI: expected scheme:path?options, e.g. log:items`);
  const scheme = match[1] as string;
  const rest = match[2] as string;
  const question = rest.indexOf('?');
  const path = question === -1 ? rest : rest.slice(0, question);
  const options: Record<string, string> = {};
  if (question !== -1) {
    for (const pair of rest.slice(question + 1).split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const key = decode(equals === -1 ? pair : pair.slice(0, equals), raw);
      const value = equals === -1 ? 'true' : decode(pair.slice(equals + 1), raw, key);
      if (Object.hasOwn(options, key)) throw new UriError(`option "${key}" is given twice in ${raw}`, key);
      options[key] = value;
    }
  }
  return { raw, scheme, path, options };
}

/** URL-decodes one part of a URI's query; a malformed escape (`100%`) is the URI's fault, not a crash. */
function decode(text: string, raw: string, option = text): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UriError(`option "${option}" has a malformed %-escape in ${raw}: write % as %25`, option);
  }
}

/** Milliseconds from `250ms`, `10s`, `2m`, `1h` (a bare number is milliseconds). */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[match[2] ?? 'ms'] ?? 1;
  return Number(match[1]) * factor;
}

/** Per second from `5/s`, `300/min`, `100/h`, or a bare number (per second). */
export function parseRate(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h))?\s*$/.exec(text);
  if (!match) return undefined;
  const count = Number(match[1]);
  if (!(count > 0)) return undefined;
  const per = { s: 1, sec: 1, m: 60, min: 60, h: 3600 }[match[2] ?? 's'] ?? 1;
  return count / per;
}

function convert(name: string, spec: OptionSpec, text: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      if (spec.minLength !== undefined && text.length < spec.minLength) {
        throw new UriError(spec.minLength === 1 ? `option ${name} must not be empty` : `option ${name} must be at least ${spec.minLength} characters`, name);
      }
      return text;
    case 'boolean':
      if (text === 'true' || text === 'false') return text === 'true';
      throw new UriError(`option ${name} must be true or false, not "${text}"`, name);
    case 'integer': {
      // Digits only: Number() would also read "" as 0, and "0x10" or "1e3".
      const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isInteger(value)) throw new UriError(`option ${name} must be a whole number, not "${text}"`, name);
      if (spec.min !== undefined && value < spec.min) throw new UriError(`option ${name} must be at least ${spec.min}`, name);
      if (spec.max !== undefined && value > spec.max) throw new UriError(`option ${name} must be at most ${spec.max}`, name);
      return value;
    }
    case 'duration': {
      const value = parseDuration(text);
      if (value === undefined) throw new UriError(`option ${name} must be a duration such as 500ms or 10s, not "${text}"`, name);
      return value;
    }
    case 'rate': {
      const value = parseRate(text);
      if (value === undefined) throw new UriError(`option ${name} must be a rate such as 5/s or 300/min, not "${text}"`, name);
      return value;
    }
    case 'enum':
      if (spec.values.includes(text)) return text;
      throw new UriError(`option ${name} must be one of ${spec.values.join(', ')}, not "${text}"`, name);
    case 'url': {
      const schemes = spec.schemes.map((scheme) => `${scheme}://`).join(' or ');
      let url: URL | undefined;
      try {
        url = new URL(text);
      } catch {
        url = undefined;
      }
      // `127.0.0.1:27001` parses as a URL of scheme "127.0.0.1": only the listed schemes are addresses here.
      if (!url || !spec.schemes.includes(url.protocol.slice(0, -1)) || !url.hostname) throw new UriError(`option ${name} must be an ${schemes} URL, not "${text}"`, name);
      return text;
    }
  }
}

/** Checks a URI's options against its component's schema: unknown options and bad values are errors. */
export function resolveOptions(component: Component, uri: EndpointUri): OptionValues {
  if (component.path?.required && uri.path === '') throw new UriError(`${component.scheme}: needs a path: ${component.path.doc}`);
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const name of Object.keys(uri.options)) {
    if (!Object.hasOwn(component.options, name)) {
      const known = Object.keys(component.options);
      throw new UriError(`unknown option "${name}" for ${component.scheme}:${known.length ? `; it takes ${known.join(', ')}` : ' (it takes none)'}`, name);
    }
  }
  for (const [name, spec] of Object.entries(component.options)) {
    const text = uri.options[name];
    if (text !== undefined) values[name] = convert(name, spec, text);
    else if (spec.default !== undefined) values[name] = typeof spec.default === 'string' ? convert(name, spec, spec.default) : spec.default;
    else if (spec.type === 'string' && spec.required) throw new UriError(`${component.scheme}: option ${name} is required`, name);
  }
  return values;
}

/** Option names whose values never appear in status, metrics or logs. */
const SECRET_OPTION = /pass(word|code)?|secret|token|key$/i;

/** The URI with the values of secret-looking options replaced by `***`, for status, metrics and logs. */
export function redactUri(raw: string): string {
  const question = raw.indexOf('?');
  if (question === -1) return raw;
  const options = raw
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, equals));
      } catch {
        name = pair.slice(0, equals);
      }
      return SECRET_OPTION.test(name) ? `${pair.slice(0, equals)}=***` : pair;
    });
  return `${raw.slice(0, question)}?${options.join('&')}`;
}
