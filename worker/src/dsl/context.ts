import type { Checker } from '../config.js';
import type { ComponentRegistry } from '../engine/registry.js';
import type { FunctionRegistry } from './expressions.js';

/** What compiling a route needs: where to report problems, the URI schemes, and the named functions. */
export interface CompileContext {
  check: Checker;
  components: ComponentRegistry;
  functions: FunctionRegistry;
}

/** A YAML mapping as a record, or undefined (the caller reports what it expected). */
export function asMapping(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
