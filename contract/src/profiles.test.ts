import { describe, expect, it } from 'vitest';
import { BACKFILL_ITEMS, BROKER_PROFILE_NAMES, BROKER_PROFILES, brokerProfile, DEFAULT_BROKER_PROFILE, isBrokerProfileName } from './profiles.js';

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
    expect(artemis.localPorts).toEqual({ amqp: 5672, webSocket: 61614 });
    expect(artemis.backfill).toContain('retroactive-message-count');
  });

  it('rabbitmq: the worker publishes to amq.topic, the page subscribes to the feed’s recent-history exchange on /ws', () => {
    const rabbitmq = brokerProfile('rabbitmq');
    expect(rabbitmq.amqpTarget('cats')).toBe('/topic/feed.cats');
    expect(rabbitmq.stompDestination('cats')).toBe('/exchange/feed.cats');
    expect(rabbitmq.stompDestination('sky-cats-2')).toBe('/exchange/feed.sky-cats-2');
    expect(rabbitmq.statusTopic).toBe('/topic/status.workers');
    expect(rabbitmq.webSocketUrl('localhost', 15675)).toBe('ws://localhost:15675/ws');
    expect(rabbitmq.webSocketUrl('broker.example.com', 15673, true)).toBe('wss://broker.example.com:15673/ws');
    expect(rabbitmq.backfill).toContain(`x-recent-history-length ${BACKFILL_ITEMS}`);
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
      }
    }
  });

  it('local brokers of the two kinds can run side by side: their ports differ', () => {
    const ports = BROKER_PROFILE_NAMES.flatMap((name) => Object.values(brokerProfile(name).localPorts));
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
