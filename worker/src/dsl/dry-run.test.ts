import { describe, expect, it } from 'vitest';
import { from } from '../engine/definition.js';
import { dryRunRoute } from './dry-run.js';

describe('dryRunRoute', () => {
  it('sends to log: whatever would reach a broker, in branches and dead letters too, and nothing else changes', () => {
    const isCat = (): boolean => true;
    const route = from('replay:x.ndjson')
      .routeId('cats')
      .filter(isCat)
      .wireTap('amqp:/topic/tap?maxInFlight=5')
      .choice((choice) => choice.when(isCat, (branch) => branch.to('amqp:/topic/feed.cats')).otherwise((branch) => branch.to('log:other')))
      .to('amqp:/queue/all')
      .deadLetter('amqp:/queue/dead')
      .signature('v1')
      .build();
    expect(dryRunRoute(route)).toEqual(
      from('replay:x.ndjson')
        .routeId('cats')
        .filter(isCat)
        .wireTap('log:/topic/tap')
        .choice((choice) => choice.when(isCat, (branch) => branch.to('log:/topic/feed.cats')).otherwise((branch) => branch.to('log:other')))
        .to('log:/queue/all')
        .deadLetter('log:/queue/dead')
        .signature('v1 (dry run)')
        .build(),
    );
  });

  it('leaves a route that touches no broker as it is', () => {
    const route = from('replay:x.ndjson').to('log:items').build();
    expect(dryRunRoute(route)).toEqual(route);
  });
});
