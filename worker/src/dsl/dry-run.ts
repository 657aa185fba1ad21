import type { RouteDefinition, StepDefinition } from '../engine/definition.js';
import { parseUri } from '../engine/uri.js';

/** Schemes that send to a broker: a dry run must not touch production. */
const BROKER_SCHEMES: ReadonlySet<string> = new Set(['amqp', 'stomp']);

/** `amqp:/topic/feed.cats?maxInFlight=10` → `log:/topic/feed.cats`, as a feed's dry run does; other URIs stay. */
function toLog(uri: string): string {
  const { scheme, path } = parseUri(uri);
  return BROKER_SCHEMES.has(scheme) ? `log:${path}` : uri;
}

function dryRunSteps(steps: readonly StepDefinition[]): StepDefinition[] {
  return steps.map((step) => {
    switch (step.kind) {
      case 'to':
      case 'wireTap':
        return { ...step, uri: toLog(step.uri) };
      case 'choice':
        return { ...step, when: step.when.map((branch) => ({ ...branch, steps: dryRunSteps(branch.steps) })), otherwise: dryRunSteps(step.otherwise) };
      default:
        return step;
    }
  });
}

/** A route for `run --dry-run`: whatever it would send to a broker (to, wireTap, dead letter) goes to log: instead. */
export function dryRunRoute(definition: RouteDefinition): RouteDefinition {
  return {
    ...definition,
    steps: dryRunSteps(definition.steps),
    ...(definition.deadLetter === undefined ? {} : { deadLetter: toLog(definition.deadLetter) }),
    ...(definition.signature === undefined ? {} : { signature: `${definition.signature} (dry run)` }),
  };
}
