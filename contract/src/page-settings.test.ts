import { describe, expect, it } from 'vitest';
import { ImageAllowList } from './image-hosts.js';
import { checkBranding, checkScreenTimings, parseAccent, textOnAccent } from './page-settings.js';

const allowList = new ImageAllowList(['cdn.bsky.app', 'http://localhost:8080']);

describe('branding', () => {
  it('accepts a full branding and normalises it', () => {
    expect(
      checkBranding({ title: '  Caturday  ', logo: 'https://cdn.bsky.app/logo.png', accent: '#ABC', callToAction: 'Post with #caturday', callToActionUrl: 'https://Example.org/a b' }, allowList),
    ).toEqual({
      ok: true,
      branding: { title: 'Caturday', logo: 'https://cdn.bsky.app/logo.png', accent: '#aabbcc', callToAction: 'Post with #caturday', callToActionUrl: 'https://example.org/a%20b' },
    });
    expect(checkBranding({}, allowList)).toEqual({ ok: true, branding: {} });
    expect(checkBranding({ logo: '/brand/logo.svg' }, allowList)).toEqual({ ok: true, branding: { logo: '/brand/logo.svg' } });
    expect(checkBranding({ logo: 'http://localhost:8080/demo/media/logo.png' }, allowList)).toMatchObject({ ok: true });
  });

  it.each([
    [{ title: '' }, 'title', /empty/],
    [{ title: 'x'.repeat(81) }, 'title', /longer than 80/],
    [{ title: 'a\u202Eb' }, 'title', undefined],
    [{ title: 7 }, 'title', /string/],
    [{ callToAction: 'one\ntwo' }, 'callToAction', /one line/],
    [{ accent: 'blue' }, 'accent', /#rrggbb/],
    [{ accent: '#ff000080' }, 'accent', /#rrggbb/],
    [{ logo: '//evil.example/logo.png' }, 'logo', /plain path/],
    [{ logo: '/a/../b.png' }, 'logo', /plain path/],
    [{ logo: '/logo.png?x=1' }, 'logo', /plain path/],
    [{ logo: 'https://evil.example/logo.png' }, 'logo', /allow-list/],
    [{ logo: 'data:image/png;base64,AAAA' }, 'logo', /is not https/],
    [{ callToAction: 'x', callToActionUrl: 'javascript:alert(1)' }, 'callToActionUrl', /https/],
    [{ callToAction: 'x', callToActionUrl: 'https://u:p@example.org/' }, 'callToActionUrl', /credentials/],
    [{ callToAction: 'x', callToActionUrl: 'not a url' }, 'callToActionUrl', /not a URL/],
    [{ callToActionUrl: 'https://example.org/' }, 'callToActionUrl', /needs its words/],
  ])('refuses %j, naming the field %s', (value, field, message) => {
    const result = checkBranding(value, allowList);
    if (message === undefined) {
      // Bidi controls are printable: accepted as text (the page shows it with textContent and bidi isolation).
      expect(result.ok).toBe(true);
      return;
    }
    expect(result).toMatchObject({ ok: false, field });
    expect(!result.ok && result.error).toMatch(message);
  });

  it('refuses what is not an object, or has fields it does not know', () => {
    expect(checkBranding([], allowList)).toEqual({ ok: false, error: 'branding must be an object' });
    expect(checkBranding({ css: 'body{}' }, allowList)).toEqual({ ok: false, error: 'branding has an unknown field "css"' });
  });

  it('reads colours and picks the text that reads on them', () => {
    expect(parseAccent('#0A7')).toBe('#00aa77');
    expect(parseAccent(' #123456 ')).toBe('#123456');
    expect(parseAccent('rgb(0,0,0)')).toBeUndefined();
    expect(textOnAccent('#ffffff')).toBe('#000000');
    expect(textOnAccent('#ffd33d')).toBe('#000000');
    expect(textOnAccent('#000000')).toBe('#ffffff');
    expect(textOnAccent('#0969da')).toBe('#ffffff');
  });
});

describe('screen timings', () => {
  it('fills in defaults and checks ranges', () => {
    expect(checkScreenTimings({})).toEqual({ ok: true, timings: { highlightMs: 8_000, quietMs: 30_000, versionCheckMs: 60_000 } });
    expect(checkScreenTimings({ quietMs: 1_000 })).toMatchObject({ ok: true, timings: { quietMs: 1_000 } });
    expect(checkScreenTimings({ quietMs: 999 })).toMatchObject({ ok: false, error: expect.stringMatching(/^screen\.quietMs/) });
    expect(checkScreenTimings({ highlightMs: 1.5e3 + 0.5 })).toMatchObject({ ok: false });
    expect(checkScreenTimings({ versionCheckMs: '1000' })).toMatchObject({ ok: false });
  });
});
