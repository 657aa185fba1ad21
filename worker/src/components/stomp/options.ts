import type { EndpointUri, OptionValues, OptionsSchema } from '../../engine/types.js';

/**
 * The options of `stomp:`, as docs, lint and the runtime read them. host, port, login and passcode have no
 * default here because theirs come from the config's settings (stompHost, stompPort, stompLogin, stompPasscode).
 */
export const stompOptionsSchema = {
  host: { type: 'string', doc: 'Broker host. Default: the stompHost setting, else localhost.' },
  port: { type: 'integer', min: 1, max: 65535, doc: 'Broker STOMP port (plain STOMP over TCP). Default: the stompPort setting, else 61613.' },
  login: { type: 'string', doc: 'Login. Default: the stompLogin setting; without one, the broker sees a guest.' },
  passcode: { type: 'string', doc: 'Passcode, never logged. Default: the stompPasscode setting.' },
  vhost: { type: 'string', doc: 'The virtual host CONNECT names (its host header). Default: the host; a broker with virtual hosts wants one of its own, e.g. /.' },
  heartbeat: { type: 'duration', default: '10s', doc: 'Heart-beat interval offered both ways; 0 turns heart-beats off. The broker drops the connection after twice this without data.' },
  receipt: { type: 'boolean', default: true, doc: 'Producer: ask for a RECEIPT per message and resolve each send on it; false resolves once the frame is written.' },
} as const satisfies OptionsSchema;

/** Where and as whom to connect. */
export interface StompTarget {
  host: string;
  port: number;
  login?: string;
  passcode?: string;
  /** The CONNECT frame's host header; the host when absent. */
  vhost?: string;
  heartbeatMs: number;
}

export interface StompOptions extends StompTarget {
  receipt: boolean;
}

/** The checked URI values, typed, with the settings' defaults filled in. */
export function stompOptions(values: OptionValues, settings: Readonly<Record<string, unknown>>): StompOptions {
  const options: StompOptions = {
    host: (values.host as string | undefined) ?? setting(settings, 'stompHost') ?? 'localhost',
    port: (values.port as number | undefined) ?? portSetting(settings) ?? 61613,
    heartbeatMs: values.heartbeat as number,
    receipt: values.receipt === true,
  };
  const login = (values.login as string | undefined) ?? setting(settings, 'stompLogin');
  const passcode = (values.passcode as string | undefined) ?? setting(settings, 'stompPasscode');
  if (login !== undefined) options.login = login;
  if (passcode !== undefined) options.passcode = passcode;
  if (values.vhost !== undefined) options.vhost = values.vhost as string;
  return options;
}

function setting(settings: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = settings[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`stomp: setting ${name} must be a string, not ${typeof value}`);
  return value;
}

function portSetting(settings: Readonly<Record<string, unknown>>): number | undefined {
  const value = settings.stompPort;
  if (value === undefined || value === null || value === '') return undefined;
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`stomp: setting stompPort must be a port number, not ${JSON.stringify(value)}`);
  }
  return port;
}

/** `host:port`, and the login when there is one: how errors and logs name a connection (never the passcode). */
export function describeTarget(target: StompTarget): string {
  return `${target.host}:${target.port}${target.login === undefined ? ' (no login)' : ` as ${target.login}`}`;
}

/** The URI as logs may show it: a passcode given in the URI is replaced. */
export function loggableUri(uri: EndpointUri): string {
  return uri.raw.replace(/([?&]passcode=)[^&]*/g, '$1[redacted]');
}
