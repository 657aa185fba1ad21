/**
 * A cheap answer for the common URL: `https://`, a plain lowercase DNS name, then nothing or a path, query or
 * fragment. For such a URL the WHATWG parser (`new URL`) succeeds with exactly that host name, no credentials and
 * the default port, so the validator and the allow-list need not run it for every image and link. Anything else
 * (another scheme or case, a port, credentials, an IP address, an `xn--` label, whitespace or an escape in the host)
 * gets `undefined`: the caller then asks `new URL`, so the accept/reject results are the parser's either way.
 */
export function plainHttpsHost(url: string): string | undefined {
  if (!url.startsWith('https://')) return undefined;
  const start = 8;
  let labelStart = start;
  let end = start;
  for (; end < url.length; end++) {
    const c = url.charCodeAt(end);
    // Where a special URL's authority ends: / \ ? #.
    if (c === 0x2f || c === 0x5c || c === 0x3f || c === 0x23) break;
    if (c === 0x2e) {
      if (end === labelStart) return undefined;
      labelStart = end + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) {
      return undefined;
    }
  }
  // No host, an empty label or a trailing dot.
  if (end === labelStart) return undefined;
  // A last label that starts with a digit may make the host an IPv4 address (or a parse error): the parser decides.
  const first = url.charCodeAt(labelStart);
  if (first >= 0x30 && first <= 0x39) return undefined;
  const host = url.slice(start, end);
  // Punycode labels are decoded and checked by the parser, which may refuse them.
  if (host.startsWith('xn--') || host.includes('.xn--')) return undefined;
  return host;
}
