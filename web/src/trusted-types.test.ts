import { describe, expect, it } from 'vitest';
import { defaultPolicyRules, isOwnBlobUrl } from './trusted-types.js';

const ORIGIN = 'http://127.0.0.1:8080';
const BLOB = `blob:${ORIGIN}/0b6a2a4e-58c3-4f8b-9d55-3c1d2f0e7a91`;

describe('the default Trusted Types policy', () => {
  const rules = defaultPolicyRules(ORIGIN);

  it('lets through a blob: URL of this origin, as stompjs passes to new Worker', () => {
    expect(rules.createScriptURL(BLOB, 'TrustedScriptURL', 'Worker constructor')).toBe(BLOB);
  });

  it.each([
    ['another origin’s blob', 'blob:https://evil.example/0b6a2a4e-58c3-4f8b-9d55-3c1d2f0e7a91'],
    ['a look-alike origin', `blob:${ORIGIN}.evil.example/0b6a2a4e-58c3-4f8b-9d55-3c1d2f0e7a91`],
    ['a blob with a path', `blob:${ORIGIN}/0b6a2a4e-58c3-4f8b-9d55-3c1d2f0e7a91/../x`],
    ['a same-origin script', `${ORIGIN}/assets/x.js`],
    ['a data: URL', 'data:text/javascript,alert(1)'],
    ['javascript:', 'javascript:alert(1)'],
    ['another host', 'https://evil.example/worker.js'],
  ])('refuses %s as a script URL', (_label, url) => {
    expect(() => rules.createScriptURL(url, 'TrustedScriptURL', 'Worker constructor')).toThrow(/^Trusted Types: livewall loads no script from .*\(Worker constructor\)$/);
  });

  it('refuses every string as HTML or script', () => {
    expect(() => rules.createHTML('<b>hi</b>', 'TrustedHTML', 'Element innerHTML')).toThrow(/never turns a string into HTML \(Element innerHTML\)/);
    expect(() => rules.createHTML('plain', 'TrustedHTML')).toThrow(TypeError);
    expect(() => rules.createScript('1', 'TrustedScript', 'eval')).toThrow(/never turns a string into script/);
  });

  it('knows no blob URL of an opaque origin', () => {
    expect(isOwnBlobUrl('blob:null/0b6a2a4e-58c3-4f8b-9d55-3c1d2f0e7a91', 'null')).toBe(false);
    expect(isOwnBlobUrl(BLOB, ORIGIN)).toBe(true);
  });
});
