import type { Path } from '../config.js';
import { parseUri, UriError } from '../engine/uri.js';
import type { EndpointUri } from '../engine/types.js';
import { asMapping, type CompileContext } from './context.js';

export type EndpointRole = 'consumer' | 'producer';

/** An endpoint written as a mapping: its URI, and its options as a mapping (merged into the URI's). */
export const ENDPOINT_FIELDS = ['uri', 'parameters'] as const;

export interface CompiledEndpoint {
  /** The URI with `parameters` merged into its options, checked against the registry; undefined after a problem. */
  uri?: string;
  /** The endpoint's mapping (empty for the short form), for the fields a step adds (`steps`, `maxInFlight`). */
  fields: Record<string, unknown>;
}

/** Escapes what would end a query key or value early; the rest stays readable (`pace=5/s`). */
function escape(text: string, isKey: boolean): string {
  return text.replace(isKey ? /[%&=\s]/g : /[%&\s]/g, (char) => encodeURIComponent(char));
}

function withOptions(uri: string, options: [string, string][]): string {
  if (options.length === 0) return uri;
  const query = options.map(([key, value]) => `${escape(key, true)}=${escape(value, false)}`).join('&');
  const separator = !uri.includes('?') ? '?' : uri.endsWith('?') || uri.endsWith('&') ? '' : '&';
  return `${uri}${separator}${query}`;
}

/**
 * An endpoint, written as a URI string (`to: log:cats`) or as `{ uri, parameters }`: after Camel, parameters are
 * the URI's options written as a mapping, and are merged into them. Every problem points at the node at fault: an
 * option from `parameters` at that parameter, anything else at the URI.
 */
export function compileEndpoint(context: CompileContext, node: unknown, path: Path, role: EndpointRole, extraFields: readonly string[] = []): CompiledEndpoint {
  const { check } = context;
  const short = typeof node === 'string';
  const fields = short ? {} : check.object(node, path, [...ENDPOINT_FIELDS, ...extraFields]);
  if (!fields) return { fields: {} };
  const uriPath = short ? path : [...path, 'uri'];
  const raw = check.string(short ? node : fields.uri, uriPath, { required: true });
  const parametersPath = [...path, 'parameters'];
  const parameters = fields.parameters === undefined ? {} : check.object(fields.parameters, parametersPath, Object.keys(asMapping(fields.parameters) ?? {}));
  if (raw === undefined || parameters === undefined) return { fields };

  let written: EndpointUri;
  try {
    written = parseUri(raw);
  } catch (error) {
    check.problem(uriPath, (error as Error).message);
    return { fields };
  }
  const options: [string, string][] = [];
  let usable = true;
  for (const [name, value] of Object.entries(parameters)) {
    const at = [...parametersPath, name];
    if (Object.hasOwn(written.options, name)) {
      check.problem(at, `option "${name}" is given both in the URI and in parameters`, true);
      usable = false;
      continue;
    }
    const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value === 'string' ? check.string(value, at, { required: true }) : check.problem(at, `parameter ${name} must be a single value`);
    if (text === undefined) usable = false;
    else options.push([name, text]);
  }
  if (!usable) return { fields };

  const uri = withOptions(raw, options);
  try {
    context.components.check(uri, role);
  } catch (error) {
    const option = error instanceof UriError ? error.option : undefined;
    if (option !== undefined && Object.hasOwn(parameters, option)) {
      const known = Object.hasOwn(context.components.get(written.scheme)?.options ?? {}, option);
      check.problem([...parametersPath, option], (error as Error).message, !known);
    } else {
      check.problem(uriPath, (error as Error).message);
    }
    return { fields };
  }
  return { uri, fields };
}
