import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { mockComponent, mockEndpoint, resetMocks } from '../components/mock/index.js';
import { from } from './definition.js';
import { Engine } from './engine.js';
import { ComponentRegistry } from './registry.js';
import { applyRoutes, routeSignature } from './reload.js';
import { systemClock } from './types.js';

afterEach(() => resetMocks());

function engine(): Engine {
  return new Engine(new ComponentRegistry().register(mockComponent), { baseDir: '.', clock: systemClock, log: pino({ level: 'silent' }), settings: {} });
}

const upper = (exchange: { body: unknown }): unknown => String(exchange.body).toUpperCase();
const lower = (exchange: { body: unknown }): unknown => String(exchange.body).toLowerCase();

describe('routeSignature', () => {
  it('names functions, so equal definitions compare equal and a different step does not', () => {
    const a = from('mock:in').routeId('r').transform(upper).to('mock:out').build();
    const b = from('mock:in').routeId('r').transform(upper).to('mock:out').build();
    const c = from('mock:in').routeId('r').transform(lower).to('mock:out').build();
    expect(routeSignature(a)).toBe(routeSignature(b));
    expect(routeSignature(a)).not.toBe(routeSignature(c));
  });

  it('prefers an explicit signature', () => {
    const a = from('mock:in').routeId('r').transform(upper).signature('v1').build();
    const b = from('mock:in').routeId('r').transform(lower).signature('v1').build();
    expect(routeSignature(a)).toBe(routeSignature(b));
  });
});

describe('applyRoutes', () => {
  it('keeps unchanged routes running, drains and replaces changed ones, removes and adds', async () => {
    const running = engine();
    running.add(from('mock:a-in').routeId('a').to('mock:a-out').build());
    running.add(from('mock:b-in').routeId('b').transform(upper).to('mock:b-out').build());
    running.add(from('mock:c-in').routeId('c').to('mock:c-out').build());
    await running.start();
    const keptRoute = running.route('a');
    // Something taken by b before the reload must still arrive, transformed the old way.
    await mockEndpoint('b-in').emit('before');

    const result = await applyRoutes(
      running,
      [
        from('mock:a-in').routeId('a').to('mock:a-out').build(),
        from('mock:b-in').routeId('b').transform(lower).to('mock:b-out').build(),
        from('mock:d-in').routeId('d').to('mock:d-out').build(),
      ],
      1000,
    );

    expect(result).toEqual({ added: ['d'], removed: ['c'], replaced: ['b'], unchanged: ['a'], abandoned: 0 });
    expect(running.route('a')).toBe(keptRoute);
    expect(running.list().map((route) => route.id).sort()).toEqual(['a', 'b', 'd']);
    expect(running.status().map((route) => route.state)).toEqual(['started', 'started', 'started']);

    await mockEndpoint('b-in').emit('AFTER');
    await mockEndpoint('d-in').emit('new');
    mockEndpoint('b-out').expectedCount(2);
    mockEndpoint('d-out').expectedCount(1);
    await mockEndpoint('b-out').assertIsSatisfied(2000);
    await mockEndpoint('d-out').assertIsSatisfied(2000);
    expect(mockEndpoint('b-out').bodies()).toEqual(['BEFORE', 'after']);
    await running.stop(1000);
  });

  it('adds a route that may not start yet stopped, and starts the others', async () => {
    const running = engine();
    await running.start();
    const result = await applyRoutes(running, [from('mock:e-in').routeId('e').to('mock:e-out').build(), from('mock:f-in').routeId('f').to('mock:f-out').build()], 1000, (definition) => definition.id !== 'f');
    expect(result.added).toEqual(['e', 'f']);
    expect(running.status().map((route) => [route.id, route.state])).toEqual([
      ['e', 'started'],
      ['f', 'stopped'],
    ]);
    await running.stop(1000);
  });
});
