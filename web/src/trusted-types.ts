/**
 * The page's Trusted Types policy. The server's CSP says `require-trusted-types-for 'script'; trusted-types default`:
 * a string that reaches an HTML, script or script-URL sink (innerHTML, a script's text, `new Worker(url)`) goes
 * through the policy named `default`, and no other policy may be made. The page builds its DOM with createElement
 * and textContent and needs no such sink, except stompjs's heart-beat ticker, which starts
 * `new Worker(URL.createObjectURL(blob))`: that blob URL of our own origin is let through. Everything else throws,
 * so an injection bug fails loudly instead of running.
 *
 * main.ts imports this module first: the policy must exist before any other module's code runs.
 */

/** The part of the Trusted Types API used here (TypeScript's DOM library does not declare it yet). */
interface TrustedTypePolicyFactory {
  createPolicy(name: string, rules: TrustedTypePolicyRules): unknown;
}

export interface TrustedTypePolicyRules {
  /** The browser passes the value, the trusted type's name and the sink, e.g. `Element innerHTML`. */
  createHTML(input: string, type?: string, sink?: string): string;
  createScript(input: string, type?: string, sink?: string): string;
  createScriptURL(input: string, type?: string, sink?: string): string;
}

/** A URL from URL.createObjectURL on a page of `origin`: `blob:<origin>/<uuid>`. */
export function isOwnBlobUrl(url: string, origin: string): boolean {
  const prefix = `blob:${origin}/`;
  return origin !== 'null' && url.startsWith(prefix) && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(url.slice(prefix.length));
}

function refusal(what: string, sink: string | undefined): TypeError {
  return new TypeError(`Trusted Types: livewall ${what}${sink ? ` (${sink})` : ''}`);
}

/** The `default` policy's rules for a page of `origin`. */
export function defaultPolicyRules(origin: string): TrustedTypePolicyRules {
  return {
    createHTML(_input, _type, sink) {
      throw refusal('never turns a string into HTML', sink);
    },
    createScript(_input, _type, sink) {
      throw refusal('never turns a string into script', sink);
    },
    createScriptURL(input, _type, sink) {
      if (isOwnBlobUrl(input, origin)) return input;
      throw refusal(`loads no script from ${JSON.stringify(input.slice(0, 100))}, only its own blob: URLs`, sink);
    },
  };
}

const factory = (globalThis as { trustedTypes?: TrustedTypePolicyFactory }).trustedTypes;
factory?.createPolicy('default', defaultPolicyRules(location.origin));
