import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImageAllowList } from './image-hosts.js';
import { plainHttpsHost } from './plain-url.js';

/**
 * URLs built from the pieces that matter to a parser: schemes, host names (mostly plain ones, so that the fast path is
 * taken often), odd host characters, ports, delimiters, escapes and whitespace.
 */
const label = fc.string({ unit: fc.constantFrom(...'abxyz019-'), minLength: 1, maxLength: 6 });
const plainHost = fc.array(fc.oneof({ arbitrary: label, weight: 8 }, { arbitrary: fc.constantFrom('xn--a', '0x1', '255', ''), weight: 1 }), { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const oddHost = fc.string({ unit: fc.constantFrom(...'abc019-.', 'xn--', 'A', '_', '@', ':', '%', ' ', '\t', '[', ']', '\u00e9', '\u0000'), maxLength: 16 });
const restChar = fc.constantFrom(...'/\\?#.a0-_~%@: ', '..', '\t', '\n', '\ud800', '\u00e9', '"', '<', '{');
const url = fc
  .tuple(
    fc.oneof({ arbitrary: fc.constant('https://'), weight: 6 }, fc.constantFrom('http://', 'HTTPS://', 'https:/', 'https:', ' https://', 'https://user:pw@', 'https://u@')),
    fc.oneof({ arbitrary: plainHost, weight: 3 }, oddHost),
    fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, fc.constantFrom('.com', '.1', '.0x', '.xn--a', ':443', ':8443', '.', '\t', ' ')),
    fc.constantFrom('', '/', '?', '#', '\\'),
    fc.string({ unit: restChar, maxLength: 12 }),
  )
  .map((parts) => parts.join(''));

function parsed(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** What ImageAllowList.refusal answered before its fast path: the URL parser's view, for every URL. */
function refusalByParser(value: string, hosts: Set<string>, origins: Set<string>): string | undefined {
  const result = parsed(value);
  if (!result) return 'is not a URL';
  if (result.username || result.password) return 'carries credentials';
  if (origins.has(result.origin)) return undefined;
  if (result.protocol !== 'https:') return 'is not https';
  if (!hosts.has(result.hostname)) return `host ${result.hostname} is not on the image allow-list`;
  return undefined;
}

describe('plainHttpsHost', () => {
  it('gives the host of https URLs on a plain host name', () => {
    expect(plainHttpsHost('https://pbs.twimg.com/media/G-2wLNqpvuDh6Ip.png')).toBe('pbs.twimg.com');
    expect(plainHttpsHost('https://x.com')).toBe('x.com');
    expect(plainHttpsHost('https://x.com?a#b')).toBe('x.com');
    expect(plainHttpsHost('https://a-1.b\\path')).toBe('a-1.b');
  });

  it('leaves everything else to the URL parser', () => {
    for (const value of ['http://x.com/', 'HTTPS://x.com/', 'https://X.com/', 'https://x.com:443/', 'https://u:p@x.com/', 'https://1.2.3.4/', 'https://a.0x/', 'https://xn--a.com/', 'https://a.xn--b/', 'https://a..b/', 'https://a.b./', 'https:///x.com', 'https://', ' https://x.com', 'https://x .com', 'https://[::1]/', 'https://a_b.com/']) {
      expect(plainHttpsHost(value), value).toBeUndefined();
    }
  });

  it('only answers when the URL parser agrees: same host, https, no credentials, default port (20,000 cases)', () => {
    fc.assert(
      fc.property(url, (value) => {
        const host = plainHttpsHost(value);
        if (host === undefined) return;
        const result = parsed(value);
        expect(result, value).toBeDefined();
        expect([result?.protocol, result?.hostname, result?.username, result?.password, result?.port, result?.origin]).toEqual(['https:', host, '', '', '', `https://${host}`]);
      }),
      { numRuns: 20_000 },
    );
  });

  it('leaves ImageAllowList.refusal answering as the URL parser does (20,000 cases)', () => {
    const entries = ['pbs.twimg.com', 'abc.com', 'a', 'http://localhost:8080', 'https://x.com', 'https://img.example:8443'];
    const list = new ImageAllowList(entries);
    const hosts = new Set(entries.filter((entry) => !entry.includes('://')));
    const origins = new Set(entries.filter((entry) => entry.includes('://')).map((entry) => new URL(entry).origin));
    fc.assert(
      fc.property(fc.oneof(url, fc.constantFrom('https://pbs.twimg.com/media/a.png', 'https://x.com/a', 'https://abc.com', 'http://localhost:8080/a.png')), (value) => {
        expect(list.refusal(value), value).toBe(refusalByParser(value, hosts, origins));
      }),
      { numRuns: 20_000 },
    );
  });
});
