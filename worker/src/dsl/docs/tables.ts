import type { Component, OptionSpec } from '../../engine/types.js';
import type { FunctionRegistry } from '../expressions.js';
import type { Table } from './markdown.js';

/**
 * The reference tables of docs/routes.md, made from the schemas that lint and the runtime read: the components and
 * their options from the ComponentRegistry, the named expressions from the FunctionRegistry.
 */

const code = (text: string): string => `\`${text}\``;
const NONE = '—';

export function componentsTable(components: readonly Component[]): Table {
  return {
    header: ['scheme', 'from', 'to', 'path', 'what it does'],
    rows: components.map((component) => [
      code(`${component.scheme}:`),
      component.createConsumer ? 'yes' : NONE,
      component.createProducer ? 'yes' : NONE,
      component.path ? `${component.path.doc}${component.path.required ? '' : ' (optional)'}` : NONE,
      component.doc,
    ]),
  };
}

function typeOf(spec: OptionSpec): string {
  switch (spec.type) {
    case 'integer':
      if (spec.min !== undefined && spec.max !== undefined) return `integer, ${spec.min} to ${spec.max}`;
      if (spec.min !== undefined) return `integer, at least ${spec.min}`;
      return spec.max === undefined ? 'integer' : `integer, at most ${spec.max}`;
    case 'string':
      return spec.required ? 'string, required' : 'string';
    case 'enum':
      return `one of ${spec.values.map(code).join(', ')}`;
    case 'duration':
      return 'duration (`500ms`, `10s`)';
    case 'rate':
      return 'rate (`5/s`, `300/min`)';
    case 'boolean':
      return 'boolean';
    case 'url':
      return `URL (${spec.schemes.map((scheme) => code(`${scheme}://`)).join(', ')})`;
  }
}

export function optionsTable(components: readonly Component[]): Table {
  return {
    header: ['scheme', 'option', 'type', 'default', 'what it sets'],
    rows: components.flatMap((component) =>
      Object.entries(component.options).map(([name, spec]) => [code(`${component.scheme}:`), code(name), typeOf(spec), spec.default === undefined ? NONE : code(String(spec.default)), spec.doc]),
    ),
  };
}

export function expressionsTable(functions: FunctionRegistry): Table {
  return {
    header: ['name', 'kind', 'what it does'],
    rows: functions.list().map((expression) => [code(expression.name), expression.kind, expression.doc]),
  };
}
