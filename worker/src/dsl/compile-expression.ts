import type { Path } from '../config.js';
import type { CompileContext } from './context.js';
import type { ExpressionKind, ExpressionTypes } from './expressions.js';
import { FIELD_PATH, simpleKey, simplePredicate, simpleSplitter, simpleTransform, type Operand, type ValueSource, type ValueTest } from './simple.js';

const SOURCES = ['ref', 'header', 'field'] as const;
const TESTS = ['equals', 'in', 'exists'] as const;

/** An expression's source, one of these, and (a predicate's) test, one of those. */
export { SOURCES as EXPRESSION_SOURCES, TESTS as EXPRESSION_TESTS };

function operand(context: CompileContext, value: unknown, path: Path): Operand | undefined {
  if (typeof value === 'string') return context.check.string(value, path, { required: true });
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return context.check.problem(path, `${String(path[path.length - 1])} must be a single value (a string, number, true, false or null)`);
}

function valueTest(context: CompileContext, fields: Record<string, unknown>, test: (typeof TESTS)[number], path: Path): ValueTest | undefined {
  const { check } = context;
  const at = [...path, test];
  switch (test) {
    case 'equals': {
      const equals = operand(context, fields.equals, at);
      return equals === undefined ? undefined : { equals };
    }
    case 'in': {
      if (!Array.isArray(fields.in) || fields.in.length === 0) return check.problem(at, 'in must be a list of one value or more');
      const values = fields.in.map((value, index) => operand(context, value, [...at, index]));
      return values.every((value) => value !== undefined) ? { in: values as Operand[] } : undefined;
    }
    case 'exists':
      if (typeof fields.exists !== 'boolean') return check.problem(at, 'exists must be true or false');
      return { exists: fields.exists };
  }
}

/**
 * An expression node: `{ ref: NAME }` names a registered function; `{ header: NAME }` or `{ field: a.b }` reads a
 * value, and with `equals`, `in` or `exists` tests it. `usedBy` is how messages name the step (`split`, `idempotent key`).
 */
export function compileExpression<Kind extends ExpressionKind>(context: CompileContext, node: unknown, path: Path, kind: Kind, usedBy: string): ExpressionTypes[Kind] | undefined {
  const { check, functions } = context;
  if (node === undefined) return check.problem(path, `${usedBy} needs an expression, e.g. { ref: NAME } or { header: NAME${kind === 'predicate' ? ', equals: VALUE' : ''} }`);
  const fields = check.object(node, path, [...SOURCES, ...TESTS]);
  if (!fields) return undefined;
  const sources = SOURCES.filter((source) => fields[source] !== undefined);
  const tests = TESTS.filter((test) => fields[test] !== undefined);
  const source = sources[0];
  if (source === undefined || sources.length > 1) {
    return check.problem(path, `an expression takes one of ref, header or field${sources.length > 1 ? `, not ${sources.join(' and ')}` : ''}`);
  }

  if (source === 'ref') {
    if (tests[0] !== undefined) return check.problem([...path, tests[0]], `a ref takes no ${tests[0]}: the named function is the whole expression`, true);
    const name = check.string(fields.ref, [...path, 'ref'], { required: true });
    if (name === undefined) return undefined;
    const found = functions.lookup(name);
    const known = functions.names(kind).join(', ') || 'none';
    if (!found) return check.problem([...path, 'ref'], `unknown expression "${name}"; known: ${known}`);
    if (found.kind !== kind) return check.problem([...path, 'ref'], `expression "${name}" is a ${found.kind}, but ${usedBy} takes a ${kind}; known: ${known}`);
    return found.fn as ExpressionTypes[Kind];
  }

  const name = check.string(fields[source], [...path, source], { required: true });
  if (name === undefined) return undefined;
  if (source === 'field' ? !FIELD_PATH.test(name) : name.trim() === '') {
    return check.problem([...path, source], `${source} must be ${source === 'field' ? 'a dotted path into the body, e.g. author.handle' : 'a header name'}, not ${JSON.stringify(name)}`);
  }
  const value: ValueSource = { from: source, name };
  if (kind !== 'predicate') {
    if (tests[0] !== undefined) return check.problem([...path, tests[0]], `${tests[0]} makes a predicate, but ${usedBy} takes a ${kind}: write ${source} alone`, true);
    const made = kind === 'transform' ? simpleTransform(value) : kind === 'splitter' ? simpleSplitter(value) : simpleKey(value);
    return made as ExpressionTypes[Kind];
  }
  const test = tests[0];
  if (test === undefined) return check.problem(path, `${usedBy} takes a predicate: add equals, in or exists to ${source}: ${name}`);
  if (tests.length > 1) return check.problem(path, `a predicate takes one of equals, in or exists, not ${tests.join(' and ')}`);
  const checked = valueTest(context, fields, test, path);
  return checked === undefined ? undefined : (simplePredicate(value, checked) as ExpressionTypes[Kind]);
}
