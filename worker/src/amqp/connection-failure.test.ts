import { describe, expect, it } from 'vitest';
import { connectionFailure, describeError } from './connection-failure.js';

describe('connectionFailure', () => {
  const url = 'amqp://broker.example:5672';

  it('names a refused login, with the user and the URL, at error level, from the SASL outcome rather than the socket error that echoes it', () => {
    const refusal = { condition: 'amqp:unauthorized-access', description: 'Failed to authenticate: 1' };
    expect(connectionFailure(url, 'publisher', refusal, new Error('write after end'))).toEqual({
      level: 'error',
      message: 'authentication failed for user publisher at amqp://broker.example:5672: check the broker password',
      reason: 'amqp:unauthorized-access: Failed to authenticate: 1',
    });
  });

  it('names a refused connection, a certificate that is not trusted, and a host that does not resolve', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5672'), { code: 'ECONNREFUSED' });
    expect(connectionFailure(url, 'publisher', undefined, refused)).toMatchObject({ level: 'warn', message: 'nothing accepts connections at amqp://broker.example:5672 (is the broker running, and is this its port?)', reason: 'connect ECONNREFUSED 127.0.0.1:5672' });
    const altname = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(connectionFailure('amqps://broker.example:5671', 'publisher', undefined, altname)).toMatchObject({ level: 'error', message: expect.stringMatching(/^TLS: the certificate of the broker at amqps:\/\/broker\.example:5671 is not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\)/) });
    const selfSigned = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(connectionFailure(url, undefined, undefined, selfSigned).level).toBe('error');
    const unknownHost = Object.assign(new Error('getaddrinfo ENOTFOUND broker.example'), { code: 'ENOTFOUND' });
    expect(connectionFailure(url, 'publisher', undefined, unknownHost).message).toBe("cannot resolve the broker's host name in amqp://broker.example:5672");
  });

  it('passes on any other refusal and any other disconnect with their own words', () => {
    expect(connectionFailure(url, 'publisher', { condition: 'amqp:connection:forced', description: 'shutting down' }, undefined)).toEqual({
      level: 'warn',
      message: 'the broker at amqp://broker.example:5672 refused the connection (user publisher)',
      reason: 'amqp:connection:forced: shutting down',
    });
    expect(connectionFailure(url, 'publisher', undefined, new Error('socket hang up'))).toEqual({ level: 'warn', message: 'cannot reach the broker at amqp://broker.example:5672', reason: 'socket hang up' });
    expect(describeError(undefined)).toBe('no reason given');
    expect(describeError('plain')).toBe('plain');
  });
});
