import { Agent } from 'node:http';
import { TwitterApi, type ITwitterApiClientPlugin, type TwitterApiReadOnly } from 'twitter-api-v2';

/** twitter-api-v2's read-only v2 client: the filtered stream and its rules need nothing more. */
export type XClient = TwitterApiReadOnly['v2'];

/** Where twitter-api-v2 sends every call; its base URL is a constant (and `cloneWithPrefix` throws). */
export const X_API_BASE_URL = 'https://api.x.com';

/** Sends REST and stream calls to `baseUrl` instead of X: how tests and a recording proxy stand in for X. */
function baseUrlPlugin(baseUrl: string): ITwitterApiClientPlugin {
  const rewrite = ({ params }: { params: { url: string } }): void => {
    if (params.url.startsWith(`${X_API_BASE_URL}/`)) params.url = baseUrl + params.url.slice(X_API_BASE_URL.length);
  };
  return { onBeforeRequestConfig: rewrite, onBeforeStreamRequestConfig: rewrite };
}

/**
 * An app-only (bearer token) v2 client. With another `baseUrl` (no trailing slash), calls go there; a plain
 * `http:` one also needs an http agent, as twitter-api-v2 always goes through `https.request`.
 */
export function xClient(bearerToken: string, baseUrl: string = X_API_BASE_URL): XClient {
  const base = baseUrl.replace(/\/+$/, '');
  if (base === X_API_BASE_URL) return new TwitterApi(bearerToken).readOnly.v2;
  return new TwitterApi(bearerToken, {
    plugins: [baseUrlPlugin(base)],
    ...(base.startsWith('http:') ? { httpAgent: new Agent() } : {}),
  }).readOnly.v2;
}
