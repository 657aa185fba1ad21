import { request as plainRequest } from 'node:http';
import { request, type Agent } from 'node:https';
import type { ImageAllowList } from '@livewall/contract';

/** Why a picture could not be fetched: a short fixed reason, counted in /metrics as the error's class. */
export type FetchRefusal = 'not-https' | 'off-list' | 'redirect-off-list' | 'too-many-redirects' | 'http-status' | 'too-large' | 'timeout' | 'network';

export class ImageFetchError extends Error {
  constructor(
    readonly reason: FetchRefusal,
    message: string,
  ) {
    super(message);
  }
}

export interface FetchImageOptions {
  /** The image allow-list (`imageHosts`): every URL fetched, redirects included, must be on it. */
  allowList: ImageAllowList;
  /** Bytes; a longer body (declared or received) is refused. */
  maxBytes: number;
  /** Aborts the fetch (the item's verdict is due); the fetch then fails with `timeout`. */
  signal: AbortSignal;
  /** The TLS agent: the system's trust store by default; a test passes one that trusts its own certificate. */
  agent?: Agent;
  /** Plain http from this machine (localhost, 127.x.x.x, [::1]) too: the feed's `imageCheck.loopbackHttp`, for a local demo. */
  loopbackHttp?: boolean;
}

/** Redirects followed at most: a CDN sends one at most. */
const MAX_REDIRECTS = 3;

/**
 * Fetches a picture for the image check: https only, every hop on the image allow-list (a redirect off it is refused,
 * not followed), at most `maxBytes` (by Content-Length before reading, and while reading), until `signal` aborts.
 */
export async function fetchImage(url: string, options: FetchImageOptions): Promise<Buffer> {
  let target = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    refuseUnless(target, options, hop > 0);
    const answer = await get(target, options);
    if (answer.kind === 'body') return answer.body;
    target = new URL(answer.location, target).href;
  }
  throw new ImageFetchError('too-many-redirects', `${url}: more than ${MAX_REDIRECTS} redirects`);
}

function refuseUnless(url: string, options: FetchImageOptions, redirected: boolean): void {
  if (!url.startsWith('https://') && !(options.loopbackHttp && isLoopbackHttp(url))) throw new ImageFetchError('not-https', `${url}: the image check fetches https only${options.loopbackHttp ? ', and plain http from this machine' : ''}`);
  const refusal = options.allowList.refusal(url);
  if (refusal !== undefined) throw new ImageFetchError(redirected ? 'redirect-off-list' : 'off-list', `${url}: ${refusal}`);
}

/** An http:// URL whose host is this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackHttp(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === 'http:' && (parsed.hostname === 'localhost' || parsed.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(parsed.hostname));
}

type Answer = { kind: 'body'; body: Buffer } | { kind: 'redirect'; location: string };

function get(url: string, options: FetchImageOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(new ImageFetchError('timeout', `${url}: no time left to fetch it`));
    const fail = (error: ImageFetchError): void => {
      options.signal.removeEventListener('abort', onAbort);
      reject(error);
      call.destroy();
    };
    const onAbort = (): void => fail(new ImageFetchError('timeout', `${url}: not fetched in time`));
    options.signal.addEventListener('abort', onAbort, { once: true });
    const plain = url.startsWith('http://');
    // refuseUnless let a plain http URL through only from this machine, and only when the feed allows it.
    const call = (plain ? plainRequest : request)(url, { method: 'GET', headers: { accept: 'image/*' }, ...(options.agent && !plain ? { agent: options.agent } : {}) }, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location !== undefined) {
        response.resume();
        options.signal.removeEventListener('abort', onAbort);
        return resolve({ kind: 'redirect', location });
      }
      if (status !== 200) return fail(new ImageFetchError('http-status', `${url}: HTTP ${status}`));
      const declared = Number(response.headers['content-length']);
      if (declared > options.maxBytes) return fail(new ImageFetchError('too-large', `${url}: ${declared} bytes, more than ${options.maxBytes}`));
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > options.maxBytes) fail(new ImageFetchError('too-large', `${url}: more than ${options.maxBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        options.signal.removeEventListener('abort', onAbort);
        resolve({ kind: 'body', body: Buffer.concat(chunks) });
      });
      response.on('error', (error) => fail(new ImageFetchError('network', `${url}: ${error.message}`)));
    });
    call.on('error', (error) => {
      options.signal.removeEventListener('abort', onAbort);
      // A destroy after a refusal also errors here; the first settlement stands.
      reject(new ImageFetchError('network', `${url}: ${error.message}`));
    });
    call.end();
  });
}
