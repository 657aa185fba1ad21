import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { from } from './definition.js';
import { Engine } from './engine.js';
import { MemoryIdempotentRepository, type IdempotentRepositories } from './idempotent.js';
import { ComponentRegistry } from './registry.js';
import { fakeClock, settle, testEndpoints } from './testing.js';

describe('MemoryIdempotentRepository', () => {
  it('holds the last `window` keys: a repeat among them is refused, an older one is new again', () => {
    const repository = new MemoryIdempotentRepository(3);
    expect(['a', 'b', 'a', 'c', 'd', 'a', 'b'].map((key) => repository.add(key))).toEqual([true, true, false, true, true, true, true]);
    expect(repository.size).toBe(3);
  });

  it('forgets a removed key, and its ring slot then evicts nothing else', () => {
    const repository = new MemoryIdempotentRepository(2);
    repository.add('a');
    repository.remove('a');
    expect(repository.add('b')).toBe(true);
    expect(repository.add('a')).toBe(true);
    expect(repository.add('b')).toBe(false);
    expect(repository.size).toBe(2);
  });

  it('lists the last keys it remembers, newest last', () => {
    const repository = new MemoryIdempotentRepository(3);
    expect(repository.recent(5)).toEqual([]);
    for (const key of ['a', 'b', 'c', 'd']) repository.add(key);
    repository.remove('c');
    expect(repository.recent(5)).toEqual(['b', 'd']);
    expect(repository.recent(1)).toEqual(['d']);
  });
});

describe('idempotent steps with the engine\'s repositories', () => {
  it('ask settings.idempotent by route and step name, and keep what they let through when their route starts again', async () => {
    const clock = fakeClock();
    const endpoints = testEndpoints(clock);
    const repositories = new Map<string, MemoryIdempotentRepository>();
    const idempotent: IdempotentRepositories = {
      repository(name, window) {
        const repository = repositories.get(name) ?? new MemoryIdempotentRepository(window);
        repositories.set(name, repository);
        return repository;
      },
    };
    // What an earlier run let through.
    idempotent.repository('cats/id', 100).add('k1');
    const engine = new Engine(new ComponentRegistry().register(endpoints.component), { baseDir: '.', clock, log: pino({ level: 'silent' }), settings: { idempotent } });
    const route = engine.add(from('test:in').routeId('cats').idempotent((exchange) => String(exchange.body), 100, 'id').to('test:out').build());
    await route.start();
    endpoints.source('in').emitAll(['k1', 'k2', 'k3']);
    await settle();
    await route.stop(1000);
    await route.start();
    endpoints.source('in').emitAll(['k2', 'k4']);
    await settle();
    expect(endpoints.producer('out').bodies()).toEqual(['k2', 'k3', 'k4']);
    expect(route.status().counters.dropped).toEqual({ duplicate: 2 });
    expect([...repositories.keys()]).toEqual(['cats/id']);
    await route.stop(1000);
  });
});
