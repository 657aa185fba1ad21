/**
 * The page's STOMP heart-beats each way, in ms: the default, and the range `/config.json`'s `heartbeatMs` may take.
 * The web server checks its setting against the same range the page checks what it is served, so neither can accept
 * what the other refuses. A silent link is noticed in about twice the interval.
 */
export const PAGE_HEARTBEAT_MS = { default: 10_000, min: 1_000, max: 60_000 } as const;

/**
 * Screen mode's timings, in ms: the default of each and the range `/config.json`'s `screen` may give it (the web
 * server takes them only from its own options, which tests use to run a wall's minutes in seconds).
 * `highlightMs`: how long one post stays large in the spotlight; `quietMs`: how long the feed must bring nothing
 * before the wall shows earlier posts again; `versionCheckMs`: how often the page asks for `/version.json`.
 */
export const SCREEN_TIMING_MS = {
  highlightMs: { default: 8_000, min: 500, max: 120_000 },
  quietMs: { default: 30_000, min: 1_000, max: 3_600_000 },
  versionCheckMs: { default: 60_000, min: 500, max: 3_600_000 },
} as const;

export type ScreenTimings = { -readonly [K in keyof typeof SCREEN_TIMING_MS]: number };

/** Each timing given (a missing one takes its default), checked against its range; or the first one out of it. */
export function checkScreenTimings(given: Readonly<Record<string, unknown>>): { ok: true; timings: ScreenTimings } | { ok: false; error: string } {
  const timings = {} as ScreenTimings;
  for (const name of Object.keys(SCREEN_TIMING_MS) as (keyof ScreenTimings)[]) {
    const { default: fallback, min, max } = SCREEN_TIMING_MS[name];
    const value = given[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return { ok: false, error: `screen.${name} must be a whole number of milliseconds from ${min} to ${max}` };
    }
    timings[name] = value;
  }
  return { ok: true, timings };
}

/**
 * A wall's branding, as the web server hands it to the page: all optional. `logo`: a path on the web server
 * (`/logo.svg`) or an image URL on the allow-list; `accent`: `#rrggbb`; `callToActionUrl`: what the QR code beside
 * the call to action opens.
 */
export interface Branding {
  title?: string;
  logo?: string;
  accent?: string;
  callToAction?: string;
  callToActionUrl?: string;
}

const BRANDING_FIELDS: readonly (keyof Branding)[] = ['title', 'logo', 'accent', 'callToAction', 'callToActionUrl'];

export const BRANDING_LIMITS = { title: 80, callToAction: 120, url: 500 } as const;

/** A colour as `#rgb` or `#rrggbb`, as lower-case `#rrggbb`; undefined for anything else. */
export function parseAccent(value: string): string | undefined {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
  if (!match) return undefined;
  const hex = match[1]!.toLowerCase();
  return `#${hex.length === 3 ? [...hex].map((digit) => digit + digit).join('') : hex}`;
}

/** Black or white, whichever reads better on `accent` (`#rrggbb`): the WCAG relative luminance decides. */
export function textOnAccent(accent: string): '#000000' | '#ffffff' {
  const channel = (offset: number): number => {
    const value = Number.parseInt(accent.slice(offset, offset + 2), 16) / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05): they are equal at L ≈ 0.179.
  return luminance > 0.179 ? '#000000' : '#ffffff';
}

/** Text for one line on a screen: no control characters, no line breaks, at most `max` characters. */
function oneLineText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new Error(`${field} must be a string`);
  const text = value.trim();
  if (text === '') throw new Error(`${field} is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text)) throw new Error(`${field} must be one line of text without control characters`);
  if ([...text].length > max) throw new Error(`${field} is longer than ${max} characters`);
  return text;
}

/** A path on the web server itself: `/` and plain URL path characters, no `//`, `..` or `\`. */
const SERVER_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;

/**
 * Checks a wall's branding (the web server's settings, or what the page was served), field by field, with the
 * image allow-list the page uses for posts. Returns the branding with normalised values, or the first problem,
 * naming its field.
 */
export function checkBranding(
  value: unknown,
  allowList: { refusal(url: string): string | undefined },
): { ok: true; branding: Branding } | { ok: false; error: string; field?: keyof Branding } {
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('branding must be an object');
    const raw = value as Record<string, unknown>;
    const unknown = Object.keys(raw).find((key) => !BRANDING_FIELDS.includes(key as keyof Branding));
    if (unknown !== undefined) throw new Error(`branding has an unknown field ${JSON.stringify(unknown.slice(0, 40))}`);
    const branding: Branding = {};
    if (raw.title !== undefined) branding.title = oneLineText(raw.title, 'title', BRANDING_LIMITS.title);
    if (raw.callToAction !== undefined) branding.callToAction = oneLineText(raw.callToAction, 'callToAction', BRANDING_LIMITS.callToAction);
    if (raw.accent !== undefined) {
      const accent = typeof raw.accent === 'string' ? parseAccent(raw.accent) : undefined;
      if (accent === undefined) throw new Error(`accent ${JSON.stringify(String(raw.accent).slice(0, 40))} must be a colour as #rrggbb or #rgb`);
      branding.accent = accent;
    }
    if (raw.logo !== undefined) {
      if (typeof raw.logo !== 'string') throw new Error('logo must be a string');
      const logo = raw.logo.trim();
      if (logo.length > BRANDING_LIMITS.url) throw new Error(`logo is longer than ${BRANDING_LIMITS.url} characters`);
      if (logo.startsWith('/')) {
        if (!SERVER_PATH.test(logo) || logo.split('/').some((part) => part === '..' || part === '.')) throw new Error(`logo ${JSON.stringify(logo.slice(0, 80))} must be a plain path on the web server, such as /logo.svg`);
      } else {
        const refusal = allowList.refusal(logo);
        if (refusal !== undefined) throw new Error(`logo ${JSON.stringify(logo.slice(0, 80))} must be a path on the web server or an image URL on the allow-list: it ${refusal.startsWith('host') ? `has ${refusal}` : refusal}`);
      }
      branding.logo = logo;
    }
    if (raw.callToActionUrl !== undefined) {
      if (typeof raw.callToActionUrl !== 'string') throw new Error('callToActionUrl must be a string');
      const text = raw.callToActionUrl.trim();
      if (text.length > BRANDING_LIMITS.url) throw new Error(`callToActionUrl is longer than ${BRANDING_LIMITS.url} characters`);
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new Error(`callToActionUrl ${JSON.stringify(text.slice(0, 80))} is not a URL`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`callToActionUrl ${JSON.stringify(text.slice(0, 80))} must be an https:// URL`);
      if (url.username || url.password) throw new Error('callToActionUrl must not carry credentials');
      branding.callToActionUrl = url.href;
    }
    if (branding.callToActionUrl !== undefined && branding.callToAction === undefined) throw new Error('callToActionUrl is set but callToAction is not: the QR code needs its words');
    return { ok: true, branding };
  } catch (error) {
    const message = (error as Error).message;
    // Every message starts with the field it is about.
    const field = /^\w+/.exec(message)?.[0];
    return BRANDING_FIELDS.includes(field as keyof Branding) ? { ok: false, error: message, field: field as keyof Branding } : { ok: false, error: message };
  }
}
