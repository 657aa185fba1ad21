import type { Path } from '../config.js';
import { BranchBuilder, type ChoiceBuilder, type KeyExpression, type Predicate, type Splitter, type Transform } from '../engine/definition.js';
import { compileExpression } from './compile-expression.js';
import { asMapping, type CompileContext } from './context.js';
import { compileEndpoint } from './endpoint.js';
import { readDuration, readEnum, readInteger } from './values.js';

export const STEP_KINDS = ['filter', 'transform', 'split', 'choice', 'idempotent', 'throttle', 'wireTap', 'to'] as const;

/**
 * The settings of each kind of step, as lint accepts them and config/schema.json lists them. `wireTap` and `to` are
 * endpoints (a URI, or `{ uri, parameters }`): these are their settings besides.
 */
export const STEP_FIELDS = {
  filter: ['expression', 'name'],
  transform: ['expression', 'name'],
  split: ['expression', 'name'],
  choice: ['when', 'otherwise'],
  idempotent: ['key', 'window', 'name'],
  throttle: ['rate', 'period', 'mode'],
  wireTap: ['maxInFlight'],
  to: [],
} as const satisfies Record<(typeof STEP_KINDS)[number], readonly string[]>;
export const WHEN_FIELDS = ['expression', 'steps', 'name'] as const;
export const OTHERWISE_FIELDS = ['steps'] as const;
export const THROTTLE_MODES = ['delay', 'drop'] as const;

/** What the route builder and a choice branch both offer: YAML steps are applied to one of them, in order. */
export interface StepTarget {
  filter(predicate: Predicate, name?: string): unknown;
  transform(fn: Transform, name?: string): unknown;
  split(fn: Splitter, name?: string): unknown;
  choice(build: (choice: ChoiceBuilder) => ChoiceBuilder): unknown;
  idempotent(key: KeyExpression, window?: number, name?: string): unknown;
  throttle(rate: number, periodMs?: number, mode?: 'delay' | 'drop'): unknown;
  wireTap(uri: string, maxInFlight?: number): unknown;
  to(uri: string): unknown;
}

/** A step's optional `name`: what its drops are counted under (`filter:<name>`) and what logs call it. */
function readName(context: CompileContext, value: unknown, path: Path): string | undefined {
  const name = context.check.string(value, path, { required: false });
  if (name !== undefined && name.trim() === '') return context.check.problem(path, 'name must not be empty');
  return name;
}

/**
 * Compiles a YAML list of steps onto `target` through the builder's own methods, so that a YAML route and the
 * same route written with the builder are equal definitions. Every problem is reported; the steps that have one
 * are left out (the caller discards a route with problems).
 */
export function compileSteps(context: CompileContext, list: unknown, path: Path, target: StepTarget): void {
  context.check.list(list, path).forEach((node, index) => compileStep(context, node, [...path, index], target));
}

function compileStep(context: CompileContext, node: unknown, path: Path, target: StepTarget): void {
  const { check } = context;
  const step = asMapping(node);
  const kinds = Object.keys(step ?? {});
  const kind = kinds[0];
  if (!step || kind === undefined) {
    check.problem(path, `a step is a mapping from its kind to its settings, e.g. - to: log:items; expected one of ${STEP_KINDS.join(', ')}`);
    return;
  }
  if (kinds.length > 1) {
    check.problem(path, `a step has one kind, not ${kinds.join(' and ')}: start a new "- " item for each step`);
    return;
  }
  if (!(STEP_KINDS as readonly string[]).includes(kind)) {
    check.problem([...path, kind], `unknown step "${kind}"; expected one of ${STEP_KINDS.join(', ')}`, true);
    return;
  }
  const body = step[kind];
  const at = [...path, kind];

  switch (kind as (typeof STEP_KINDS)[number]) {
    case 'filter':
    case 'transform':
    case 'split': {
      const fields = check.object(body, at, STEP_FIELDS[kind as 'filter' | 'transform' | 'split']);
      if (!fields) return;
      const name = readName(context, fields.name, [...at, 'name']);
      if (kind === 'filter') {
        const predicate = compileExpression(context, fields.expression, [...at, 'expression'], 'predicate', 'filter');
        if (predicate) target.filter(predicate, name);
      } else if (kind === 'transform') {
        const fn = compileExpression(context, fields.expression, [...at, 'expression'], 'transform', 'transform');
        if (fn) target.transform(fn, name);
      } else {
        const fn = compileExpression(context, fields.expression, [...at, 'expression'], 'splitter', 'split');
        if (fn) target.split(fn, name);
      }
      return;
    }

    case 'choice':
      compileChoice(context, body, at, target);
      return;

    case 'idempotent': {
      const fields = check.object(body, at, STEP_FIELDS.idempotent);
      if (!fields) return;
      const key = compileExpression(context, fields.key, [...at, 'key'], 'key', 'idempotent key');
      const window = readInteger(check, fields.window, [...at, 'window'], { min: 1 });
      const name = readName(context, fields.name, [...at, 'name']);
      if (key) target.idempotent(key, window, name);
      return;
    }

    case 'throttle': {
      const fields = check.object(body, at, STEP_FIELDS.throttle);
      if (!fields) return;
      if (fields.rate === undefined) check.problem(at, 'throttle needs a rate: how many exchanges per period');
      const rate = readInteger(check, fields.rate, [...at, 'rate'], { min: 1 });
      const period = readDuration(check, fields.period, [...at, 'period']);
      if (period === 0) check.problem([...at, 'period'], 'period must be longer than 0ms');
      const mode = readEnum(check, fields.mode, [...at, 'mode'], THROTTLE_MODES);
      if (rate !== undefined) target.throttle(rate, period, mode);
      return;
    }

    case 'wireTap': {
      const { uri, fields } = compileEndpoint(context, body, at, 'producer', STEP_FIELDS.wireTap);
      const maxInFlight = readInteger(check, fields.maxInFlight, [...at, 'maxInFlight'], { min: 1 });
      if (uri !== undefined) target.wireTap(uri, maxInFlight);
      return;
    }

    case 'to': {
      const { uri } = compileEndpoint(context, body, at, 'producer');
      if (uri !== undefined) target.to(uri);
      return;
    }
  }
}

/** `choice: { when: [{ expression, steps, name }], otherwise: { steps } }`: the first `when` that holds takes the exchange. */
function compileChoice(context: CompileContext, body: unknown, path: Path, target: StepTarget): void {
  const { check } = context;
  const fields = check.object(body, path, STEP_FIELDS.choice);
  if (!fields) return;
  const whens = check.list(fields.when, [...path, 'when']);
  if (fields.when === undefined || (Array.isArray(fields.when) && whens.length === 0)) check.problem(path, 'choice needs at least one when');
  target.choice((choice) => {
    whens.forEach((node, index) => {
      const whenPath = [...path, 'when', index];
      const when = check.object(node, whenPath, WHEN_FIELDS);
      if (!when) return;
      const predicate = compileExpression(context, when.expression, [...whenPath, 'expression'], 'predicate', 'when');
      const name = readName(context, when.name, [...whenPath, 'name']);
      const branch = (builder: BranchBuilder): BranchBuilder => {
        compileSteps(context, when.steps, [...whenPath, 'steps'], builder);
        return builder;
      };
      if (predicate) choice.when(predicate, branch, name);
      else branch(new BranchBuilder());
    });
    if (fields.otherwise !== undefined) {
      const otherwise = check.object(fields.otherwise, [...path, 'otherwise'], OTHERWISE_FIELDS);
      if (otherwise) {
        choice.otherwise((builder) => {
          compileSteps(context, otherwise.steps, [...path, 'otherwise', 'steps'], builder);
          return builder;
        });
      }
    }
    return choice;
  });
}
