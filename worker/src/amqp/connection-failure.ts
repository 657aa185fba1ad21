/**
 * Why an AMQP connection attempt ended, in words an operator can act on. rhea reports a refused login (the SASL
 * outcome) or a broker's close condition as a `connection_error`, and then ends the socket, whose last error
 * (`write after end`) is what `disconnected` carries: the refusal is the cause, the socket error only its echo.
 */

/** The text of an error rhea or the socket gave: AMQP condition and description, or the error's message. */
export function describeError(error: unknown): string {
  if (!error) return 'no reason given';
  if (typeof error === 'object') {
    const { condition, description, message } = error as { condition?: string; description?: string; message?: string };
    const text = [condition, description ?? message].filter(Boolean).join(': ');
    if (text) return text;
  }
  return String(error);
}

/** Node's codes for a certificate the client does not trust, or that names another host. */
const TLS_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
]);

export interface ConnectionFailure {
  /** error: nothing changes until the operator does (a password, a certificate); warn: it may pass by itself. */
  level: 'error' | 'warn';
  /** One line: what happened, where, as whom. */
  message: string;
  /** The broker's or the socket's own words. */
  reason: string;
}

/**
 * What ended an attempt to connect to `url` as `user`: `refusal` is the connection_error of that attempt, if there
 * was one; `ended` the error the disconnect carried.
 */
export function connectionFailure(url: string, user: string | undefined, refusal: unknown, ended: unknown): ConnectionFailure {
  const as = user ? `user ${user}` : 'no user';
  if (refusal) {
    const { condition } = refusal as { condition?: string };
    const reason = describeError(refusal);
    if (condition === 'amqp:unauthorized-access') return { level: 'error', message: `authentication failed for ${as} at ${url}: check the broker password`, reason };
    return { level: 'warn', message: `the broker at ${url} refused the connection (${as})`, reason };
  }
  const code = (ended as { code?: string } | undefined)?.code;
  const reason = describeError(ended);
  if (code && TLS_CODES.has(code)) return { level: 'error', message: `TLS: the certificate of the broker at ${url} is not trusted (${code}): check its host name and CA (NODE_EXTRA_CA_CERTS)`, reason };
  if (code === 'ECONNREFUSED') return { level: 'warn', message: `nothing accepts connections at ${url} (is the broker running, and is this its port?)`, reason };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { level: 'warn', message: `cannot resolve the broker's host name in ${url}`, reason };
  return { level: 'warn', message: `cannot reach the broker at ${url}`, reason };
}
