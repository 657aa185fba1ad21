import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { xClient } from './client.js';
import { FakeXServer } from './fake-x-server.js';
import { planRules, reconcileRules, ruleValue, RuleValidationError, type StreamRule, type XFeed } from './rules.js';

const cats: XFeed = { name: 'cats', keywords: ['cat', 'kitten', '#caturday'] };
const dogs: XFeed = { name: 'dogs', keywords: ['dog', 'good boy'] };
const CATS_RULE = '(cat OR kitten OR #caturday) has:images -is:retweet';
const DOGS_RULE = '(dog OR "good boy") has:images -is:retweet';

describe('x rules: values', () => {
  it('joins keywords with OR, quotes phrases, keeps images only and no retweets', () => {
    expect(ruleValue(cats)).toBe(CATS_RULE);
    expect(ruleValue(dogs)).toBe(DOGS_RULE);
    expect(ruleValue({ name: 'one', keywords: ['  owl ', 'owl'] })).toBe('(owl) has:images -is:retweet');
  });

  it("uses an operator's rule as it is", () => {
    expect(ruleValue({ name: 'cats', keywords: ['cat'], rule: 'cat has:media lang:en' })).toBe('cat has:media lang:en');
  });

  it('refuses a feed with nothing to match, naming it', () => {
    expect(() => ruleValue({ name: 'empty', keywords: [' '] })).toThrow('x: feed "empty" has neither keywords nor a rule');
    expect(() => planRules([cats, { ...cats }], [])).toThrow('feed "cats" appears twice');
  });
});

describe('x rules: plan', () => {
  const rule = (id: string, value: string, tag?: string): StreamRule => ({ id, value, ...(tag === undefined ? {} : { tag }) });

  it('adds every rule to an empty stream', () => {
    expect(planRules([cats, dogs], [])).toEqual({ rulesToAdd: [{ value: CATS_RULE, tag: 'cats' }, { value: DOGS_RULE, tag: 'dogs' }], ruleIdsToDelete: [] });
  });

  it('leaves unchanged rules alone, replaces changed ones, never touches foreign tags', () => {
    const current = [
      rule('1', CATS_RULE, 'cats'),
      rule('2', '(dog) has:images -is:retweet', 'dogs'),
      rule('3', 'from:someone', 'marketing'),
      rule('4', 'untagged has:images'),
      rule('5', CATS_RULE, 'cats'),
    ];
    expect(planRules([cats, dogs], current)).toEqual({ rulesToAdd: [{ value: DOGS_RULE, tag: 'dogs' }], ruleIdsToDelete: ['2', '5'] });
  });

  it('deletes rules of removed feeds only when their tag carries the owned prefix', () => {
    const current = [rule('1', 'birds', 'wall-birds'), rule('2', 'fish', 'fish'), rule('3', CATS_RULE, 'cats')];
    expect(planRules([cats], current)).toEqual({ rulesToAdd: [], ruleIdsToDelete: [] });
    expect(planRules([cats], current, 'wall-')).toEqual({ rulesToAdd: [], ruleIdsToDelete: ['1'] });
  });

  it('an empty owned prefix claims nothing: every tag starts with "", so other tools\' rules would be deleted', () => {
    const current = [rule('1', 'birds', 'wall-birds'), rule('2', 'from:someone', 'marketing'), rule('3', CATS_RULE, 'cats')];
    expect(planRules([cats], current, '')).toEqual({ rulesToAdd: [], ruleIdsToDelete: [] });
  });
});

describe('x rules: reconcile against the fake X', () => {
  const servers: FakeXServer[] = [];
  afterEach(async () => Promise.all(servers.splice(0).map((server) => server.close())));

  async function fakeX(rules: StreamRule[] = []) {
    const server = new FakeXServer();
    servers.push(server);
    server.rules = rules;
    const client = xClient('test-token', await server.listen());
    return { server, client };
  }

  it('a rules request that gets no answer names its URL and its cause, not just "Request failed."', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const failure = await reconcileRules(xClient('test-token', `http://127.0.0.1:${port}`), [cats]).catch((error: Error) => error);
    expect((failure as Error).message).toBe(`x: request to http://127.0.0.1:${port}/2/tweets/search/stream/rules failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('reads, validates with dry_run, deletes, then adds: exactly those calls, in order', async () => {
    const { server, client } = await fakeX([
      { id: '11', value: '(dog) has:images -is:retweet', tag: 'dogs' },
      { id: '12', value: CATS_RULE, tag: 'cats' },
      { id: '13', value: 'from:someone', tag: 'marketing' },
    ]);
    const plan = await reconcileRules(client, [cats, dogs]);
    expect(plan).toEqual({ rulesToAdd: [{ value: DOGS_RULE, tag: 'dogs' }], ruleIdsToDelete: ['11'] });
    expect(server.rulesCalls).toEqual([
      { method: 'GET', query: {}, body: undefined },
      { method: 'POST', query: { dry_run: 'true' }, body: { add: [{ value: DOGS_RULE, tag: 'dogs' }] } },
      { method: 'POST', query: {}, body: { delete: { ids: ['11'] } } },
      { method: 'POST', query: {}, body: { add: [{ value: DOGS_RULE, tag: 'dogs' }] } },
    ]);
    expect(server.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([
      { value: CATS_RULE, tag: 'cats' },
      { value: 'from:someone', tag: 'marketing' },
      { value: DOGS_RULE, tag: 'dogs' },
    ]);
  });

  it('only reads when nothing changed', async () => {
    const { server, client } = await fakeX([{ id: '12', value: CATS_RULE, tag: 'cats' }]);
    expect(await reconcileRules(client, [cats])).toEqual({ rulesToAdd: [], ruleIdsToDelete: [] });
    expect(server.rulesCalls.map((call) => call.method)).toEqual(['GET']);
  });

  it("throws X's own message for an invalid rule and changes nothing", async () => {
    const { server, client } = await fakeX([{ id: '11', value: '(dog) has:images -is:retweet', tag: 'dogs' }]);
    const bad: XFeed = { name: 'dogs', keywords: [], rule: 'dog INVALID:operator' };
    const failure = reconcileRules(client, [bad]);
    await expect(failure).rejects.toBeInstanceOf(RuleValidationError);
    await expect(failure).rejects.toThrow(`Invalid Rule: "dog INVALID:operator": Reference to invalid operator 'INVALID'`);
    expect(server.rulesCalls.map((call) => [call.method, call.query])).toEqual([['GET', {}], ['POST', { dry_run: 'true' }]]);
    expect(server.rules).toEqual([{ id: '11', value: '(dog) has:images -is:retweet', tag: 'dogs' }]);
  });
});
