import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKFILL_ITEMS, BROKER_PROFILE_NAMES, BROKER_PROFILES, brokerProfile, DEFAULT_BROKER_PROFILE, isBrokerProfileName, LEASE_HISTORY, missingDestination, NO_SUCH_DESTINATION } from './profiles.js';

describe('broker profiles', () => {
  it('artemis is the default', () => {
    expect(DEFAULT_BROKER_PROFILE).toBe('artemis');
    expect(brokerProfile().name).toBe('artemis');
    expect(brokerProfile(undefined)).toBe(BROKER_PROFILES.artemis);
  });

  it('artemis: the worker and the page use the multicast-prefixed topic; the WebSocket takes any path', () => {
    const artemis = brokerProfile('artemis');
    expect(artemis.amqpTarget('cats')).toBe('/topic/feed.cats');
    expect(artemis.stompDestination('cats')).toBe('/topic/feed.cats');
    expect(artemis.statusTopic).toBe('/topic/status.workers');
    expect(artemis.webSocketUrl('broker.example.com', 61614)).toBe('ws://broker.example.com:61614');
    expect(artemis.webSocketUrl('broker.example.com', 61615, true)).toBe('wss://broker.example.com:61615');
    expect(artemis.localPorts).toEqual({ amqp: 5672, webSocket: 61614, stomp: 61613 });
    expect(artemis.stompVirtualHost).toBeUndefined();
    expect(artemis.backfill).toContain('retroactive-message-count');
  });

  it('artemis: workers send and hear a feed’s leases on its multicast-prefixed owner address, which replays the last ones', () => {
    const { leases } = brokerProfile('artemis');
    expect(leases.amqpTarget('cats')).toBe('/topic/owner.cats');
    expect(leases.amqpSource('cats')).toBe('/topic/owner.cats');
    expect(leases.replay).toContain(`last ${LEASE_HISTORY} messages (retroactive-message-count)`);
    expect(leases.setup('cats')).toContain('activemq/broker.xml');
  });

  it('rabbitmq: the worker publishes to amq.topic, the page subscribes to the feed’s recent-history exchange on /ws', () => {
    const rabbitmq = brokerProfile('rabbitmq');
    expect(rabbitmq.amqpTarget('cats')).toBe('/topic/feed.cats');
    expect(rabbitmq.stompDestination('cats')).toBe('/exchange/feed.cats');
    expect(rabbitmq.stompDestination('sky-cats-2')).toBe('/exchange/feed.sky-cats-2');
    expect(rabbitmq.statusTopic).toBe('/topic/status.workers');
    expect(rabbitmq.webSocketUrl('localhost', 15675)).toBe('ws://localhost:15675/ws');
    expect(rabbitmq.webSocketUrl('broker.example.com', 15673, true)).toBe('wss://broker.example.com:15673/ws');
    expect(rabbitmq.localPorts).toEqual({ amqp: 5673, webSocket: 15675, stomp: 61623 });
    expect(rabbitmq.stompVirtualHost).toBe('/');
    expect(rabbitmq.backfill).toContain(`x-recent-history-length ${BACKFILL_ITEMS}`);
  });

  it('rabbitmq: workers send leases to amq.topic and hear them from the feed’s lease exchange, which replays the last ones', () => {
    const { leases } = brokerProfile('rabbitmq');
    expect(leases.amqpTarget('sky-cats')).toBe('/topic/owner.sky-cats');
    expect(leases.amqpSource('sky-cats')).toBe('/exchange/owner.sky-cats');
    expect(leases.replay).toContain(`x-recent-history-length ${LEASE_HISTORY}`);
    expect(leases.setup('sky-cats')).toContain('scripts/broker --broker rabbitmq declare sky-cats');
  });

  it('Artemis keeps as many recent leases for a new worker as the profiles say (activemq/broker.xml, owner.#)', () => {
    const brokerXml = readFileSync(new URL('../../activemq/broker.xml', import.meta.url), 'utf8');
    const ownerSettings = /<address-setting match="owner\.#">([\s\S]*?)<\/address-setting>/.exec(brokerXml)?.[1] ?? '';
    expect(/<retroactive-message-count>(\d+)</.exec(ownerSettings)?.[1]).toBe(String(LEASE_HISTORY));
  });

  it('an IPv6 host is bracketed in the WebSocket URL', () => {
    expect(brokerProfile('rabbitmq').webSocketUrl('::1', 15675)).toBe('ws://[::1]:15675/ws');
    expect(brokerProfile('artemis').webSocketUrl('::1', 61614)).toBe('ws://[::1]:61614');
  });

  it('every profile refuses a feed name that is not one, as feedTopic does', () => {
    for (const name of BROKER_PROFILE_NAMES) {
      const profile = brokerProfile(name);
      for (const bad of ['Cats', '', 'cats.#', 'a/b', 'x'.repeat(33)]) {
        expect(() => profile.amqpTarget(bad)).toThrow(/invalid feed name/);
        expect(() => profile.stompDestination(bad)).toThrow(/invalid feed name/);
        expect(() => profile.leases.amqpTarget(bad)).toThrow(/invalid feed name/);
        expect(() => profile.leases.amqpSource(bad)).toThrow(/invalid feed name/);
      }
    }
  });

  it('local brokers of the two kinds can run side by side: their ports differ', () => {
    const ports = BROKER_PROFILE_NAMES.flatMap((name) => [...new Set(Object.values(brokerProfile(name).localPorts))]);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('an unknown name is refused with the list of profiles', () => {
    expect(() => brokerProfile('kafka')).toThrow('unknown broker profile "kafka": expected one of artemis, rabbitmq');
    expect(() => brokerProfile('Artemis')).toThrow(/unknown broker profile/);
    expect(isBrokerProfileName('rabbitmq')).toBe(true);
    expect(isBrokerProfileName('RabbitMQ')).toBe(false);
    expect(isBrokerProfileName(undefined)).toBe(false);
    expect(isBrokerProfileName(1)).toBe(false);
  });
});

describe('missingDestination', () => {
  it("reads the destination from Artemis's guard and RabbitMQ's refusal of a feed that does not exist", () => {
    expect(missingDestination(`${NO_SUCH_DESTINATION}feed.cats`)).toBe('feed.cats');
    expect(missingDestination("NOT_FOUND - no exchange 'feed.cats' in vhost '/'")).toBe('feed.cats');
    expect(missingDestination('login "admin" is not accepted on this port')).toBeUndefined();
    expect(missingDestination(NO_SUCH_DESTINATION)).toBeUndefined();
  });

  it("is the prefix the Artemis guard sends (activemq/guard/)", () => {
    const guard = readFileSync(new URL('../../activemq/guard/livewall/guard/PublicEndpointGuard.java', import.meta.url), 'utf8');
    expect(guard).toContain(`public static final String NOT_FOUND = ${JSON.stringify(NO_SUCH_DESTINATION)};`);
  });
});
