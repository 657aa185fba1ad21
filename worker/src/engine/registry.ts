import { parseUri, resolveOptions, UriError } from './uri.js';
import type { Clock, Component, Consumer, EndpointContext, Logger, Producer } from './types.js';

/** What endpoints share: where relative paths start, the clock, the log, and settings from the config. */
export interface EndpointEnvironment {
  baseDir: string;
  clock: Clock;
  log: Logger;
  settings: Readonly<Record<string, unknown>>;
}

/** The URI schemes the engine knows. A scheme registers once, with its options schema. */
export class ComponentRegistry {
  private readonly components = new Map<string, Component>();

  register(component: Component): this {
    if (this.components.has(component.scheme)) throw new Error(`component ${component.scheme}: is registered twice`);
    this.components.set(component.scheme, component);
    return this;
  }

  get(scheme: string): Component | undefined {
    return this.components.get(scheme);
  }

  list(): Component[] {
    return [...this.components.values()];
  }

  /** Parses and checks a URI for the given role without creating anything: what `lint` and route building use. */
  check(raw: string, role: 'consumer' | 'producer'): EndpointContext['uri'] {
    return this.context(raw, role, undefined).uri;
  }

  consumer(raw: string, environment: EndpointEnvironment): Consumer {
    const context = this.context(raw, 'consumer', environment);
    return (this.components.get(context.uri.scheme) as Component).createConsumer?.(context) as Consumer;
  }

  producer(raw: string, environment: EndpointEnvironment): Producer {
    const context = this.context(raw, 'producer', environment);
    return (this.components.get(context.uri.scheme) as Component).createProducer?.(context) as Producer;
  }

  private context(raw: string, role: 'consumer' | 'producer', environment: EndpointEnvironment | undefined): EndpointContext {
    const uri = parseUri(raw);
    const component = this.components.get(uri.scheme);
    if (!component) throw new UriError(`unknown component "${uri.scheme}:" in ${raw}; known: ${[...this.components.keys()].map((scheme) => `${scheme}:`).join(', ')}`);
    const can = role === 'consumer' ? component.createConsumer : component.createProducer;
    if (!can) throw new UriError(`${uri.scheme}: cannot be used ${role === 'consumer' ? 'in from' : 'in to'} (${raw})`);
    const options = resolveOptions(component, uri);
    const base = environment ?? { baseDir: '.', clock: undefined as unknown as Clock, log: undefined as unknown as Logger, settings: {} };
    return { uri, options, ...base };
  }
}
