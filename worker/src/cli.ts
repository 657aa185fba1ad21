#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { BROKER_PROFILE_NAMES, brokerProfile, DEFAULT_BROKER_PROFILE, isBrokerProfileName } from '@livewall/contract';
import type { Logger } from 'pino';
import { defaultComponents } from './components/index.js';
import { ConfigError, loadConfig, type WorkerConfig } from './config.js';
import { runLint, withEnvFiles } from './lint.js';
import { record, RecordError } from './record.js';
import { StartupError } from './ops/server.js';
import { createLogger, logSettings } from './logging.js';
import { EXIT_ABANDONED, routesOf, runWorker, version } from './run.js';
import { systemClock } from './engine/types.js';
import { parseDuration } from './engine/uri.js';
import { tap, tapModeration } from './tap.js';
import { actionLine, isModerateAction, listModeration, listText, ModerateError, ModerateUsageError, moderationAction, sendModeration, type ModerateTarget } from './moderate.js';

/** Each command's usage line and its help, as `COMMAND --help` prints them; `--help` alone prints them all. */
const COMMANDS = {
  run: {
    usage: 'livewall-worker run --config FILE [--watch] [--dry-run] [--takeover]',
    help: `run the configured feeds and routes: each feed is a route from its source to its topic on the broker
  --config, -c FILE  the worker's YAML configuration (see worker/config/ and docs/routes.md)
  --watch            reload the config when it changes: an invalid one is reported and the running routes
                     carry on; a valid one drains and swaps only the routes that changed
  --dry-run          send to log: instead of the broker, to try a feed without touching production
  --takeover         take every feed over from the worker that runs it now (e.g. to move it to this
                     machine): that worker drains and yields within seconds, then stands by; when this
                     one stops, the feeds go back to it. Without it, a feed another worker owns waits here
                     until that worker stops or its lease runs out (ownership: in the config)
A stop signal drains what was taken until the config's shutdownTimeout; a second one, a second or more later,
exits at once.`,
  },
  lint: {
    usage: 'livewall-worker lint [--format text|json] [--skip-env-check] [--env-file FILE]... FILE|GLOB...',
    help: `check config files and their routes without starting anything: prints every problem of every file
as file:line:column: message and exits 1, or "FILE: ok, N feeds (M routes)" for each file and exits 0
  FILE|GLOB          one file or more; a quoted glob ('worker/config/*.yaml') is expanded here, and one that
                     matches no file is a problem
  --format json      one JSON document instead: {"files":[{"file","ok","problems":[{"line","column","message"}],
                     "feeds","routes"}],"problems":N} (docs/routes.md, "Lint")
  --skip-env-check   a \${VAR} that is not set (and has no default) is no problem: its setting goes unchecked,
                     and so does a live source's token variable
  --env-file FILE    read variables from a dotenv file too (the environment's own win); may be repeated`,
  },
  tap: {
    usage: 'livewall-worker tap FEED|--moderation [FEED] [--host HOST] [--port PORT] [--login USER] [--profile artemis|rabbitmq] [--limit N] [--ndjson]',
    help: `subscribe to a feed on the broker (STOMP, as an anonymous viewer unless --login) and print each item;
with --moderation, read the moderation log from its start instead (every feed's actions, or FEED's: who, what,
when, why), then its new entries as they come; the log needs a login that may read it (--login publisher or
moderator). Either way:
readable lines on a terminal, one JSON object per line when piped or with --ndjson; on stderr it says what it
does: connecting, subscribed, a feed not live yet (no worker has published to it), a lost connection, the next try
(defaults: --profile artemis, the broker kind, which decides the feed's destination; --host localhost;
--port LIVEWALL_STOMP_TCP_PORT, else the local broker's STOMP port for that kind: ${BROKER_PROFILE_NAMES.map((name) => `${brokerProfile(name).localPorts.stomp} ${name}`).join(', ')};
the passcode comes from LIVEWALL_TAP_PASSCODE)`,
  },
  moderate: {
    usage: 'livewall-worker moderate hide|unhide FEED ITEM_ID | block|unblock FEED NETWORK:HANDLE | list FEED [--reason TEXT] [--host HOST] [--port PORT] [--login USER] [--profile artemis|rabbitmq] [--json]',
    help: `take a post or an author off a feed's wall, or put them back, as a moderator (STOMP, the moderator login):
  hide FEED ITEM_ID          hide one post (its id as the feed item has it, e.g. x:1234) on every open page,
                             and keep workers from publishing it again
  unhide FEED ITEM_ID        let it be published again (pages do not bring back a card they removed)
  block FEED NETWORK:HANDLE  remove every card of an author (e.g. bluesky:someone.bsky.social, x:someone,
                             mastodon:user@instance) and keep their later posts off the feed
  unblock FEED NETWORK:HANDLE  end the block
  list FEED                  the feed's hidden posts and blocked authors now, and the moderation log's entries
                             for it (when, who, what, why); --json prints them as one JSON object
  --reason TEXT              why, in a few words, kept in the moderation log (hide and block)
Each action goes to the moderation log first (durable: every worker reads it, also one that is stopped now), then
to the feed's topic (open pages act on it within a second); each send waits for the broker's receipt.
Defaults: --login moderator, whose password comes from LIVEWALL_MODERATOR_PASSWORD; --profile artemis; --host
localhost; --port LIVEWALL_STOMP_TCP_PORT, else the local broker's STOMP port for that kind: ${BROKER_PROFILE_NAMES.map((name) => `${brokerProfile(name).localPorts.stomp} ${name}`).join(', ')}.
Exits 1 when the broker cannot be reached, refuses the login or the action, 2 for a command line that is not one.`,
  },
  record: {
    usage: 'livewall-worker record --config FILE --source x|bluesky|mastodon --feed FEED --out FILE [--limit N] [--duration D]',
    help: `read a network's live source as the worker would for FEED (its sources: settings and keywords) and
append each of the feed's events to --out, one a line, exactly as received: a recording that
sources.<network>.replay plays back through the same decoder. Stops at --limit events, after
--duration (e.g. 10m), or on Ctrl-C. X allows one stream per app: stop a worker using the same token first.`,
  },
} as const;
type CommandName = keyof typeof COMMANDS;

const EXIT_CODES = 'Exit codes: 0 done, 1 a config error or a failure, 2 bad usage, 3 stopped with messages not yet confirmed by the broker.';

const USAGE = `usage: ${Object.values(COMMANDS).map(({ usage }) => usage).join('\n       ')}
       livewall-worker --version

${Object.entries(COMMANDS).map(([name, { help }]) => `  ${name.padEnd(8)} ${help.replaceAll('\n', '\n           ')}`).join('\n')}

Environment: LOG_LEVEL (info), LOG_FORMAT (pretty on a terminal, else json), NO_COLOR, and any \${VAR} the config
file names.
${EXIT_CODES}`;

/** Exit code for a command line that is not one: as getopt-style tools do. */
const EXIT_USAGE = 2;

function commandHelp(name: CommandName): string {
  return `usage: ${COMMANDS[name].usage}\n\n${COMMANDS[name].help}\n\n${EXIT_CODES}\n`;
}

/**
 * The logger of a command that logs to `fd` (1 stdout, 2 stderr), as LOG_LEVEL (else `fallbackLevel`) and LOG_FORMAT
 * say (logSettings: readable lines on a terminal); undefined, after saying why, for a value they do not take.
 */
function commandLogger(name: string, fd: 1 | 2, fallbackLevel: string, options: { fields?: boolean } = {}): Logger | undefined {
  const settings = logSettings(process.env, (fd === 1 ? process.stdout : process.stderr).isTTY === true, fallbackLevel);
  if ('error' in settings) {
    process.stderr.write(`livewall-worker: ${settings.error}\n`);
    return undefined;
  }
  return createLogger({ name, fd, ...settings, ...options });
}

function usageError(message: string, command?: CommandName): number {
  process.stderr.write(`livewall-worker: ${message}\n${command ? commandHelp(command) : `${USAGE}\n`}`);
  return EXIT_USAGE;
}

/** After a stop signal, how much longer than the config's shutdownTimeout the worker may take to close. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Signals this soon after the first are the same stop delivered twice (Ctrl-C reaches a process group and its parent forwards it). */
const SAME_STOP_MS = 1_000;

/**
 * Aborts on the first SIGTERM or SIGINT. A second signal, a second or more later, ends the process at once (exit 3:
 * what was in flight may not be confirmed), as an operator who presses Ctrl-C twice means.
 */
function stopSignal(onStop: (signal: NodeJS.Signals) => void, onSecond?: (signal: NodeJS.Signals) => void): AbortSignal {
  const stop = new AbortController();
  let firstAt = 0;
  const handler = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      if (onSecond && Date.now() - firstAt >= SAME_STOP_MS) {
        onSecond(signal);
        process.exit(EXIT_ABANDONED);
      }
      return;
    }
    firstAt = Date.now();
    onStop(signal);
    stop.abort();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return stop.signal;
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, 'dry-run': { type: 'boolean' }, watch: { type: 'boolean' }, takeover: { type: 'boolean' } }, strict: true });
  if (positionals.length > 0) {
    const [file] = positionals;
    const hint = positionals.length === 1 && /\.ya?ml$/.test(file as string) && !values.config ? ` (did you mean run --config ${file}?)` : '';
    return usageError(`run: unexpected argument ${JSON.stringify(file)}${hint}`, 'run');
  }
  if (!values.config) return usageError('run: --config FILE is required', 'run');
  const dryRun = values['dry-run'] ?? false;
  if (dryRun && values.takeover) return usageError('run: --takeover needs the broker; a dry run takes nothing over');
  let config: WorkerConfig;
  try {
    config = loadConfig(values.config, process.env, { requireBroker: !dryRun });
    routesOf(config, { dryRun });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  // Written synchronously (createLogger): the process exits as soon as the worker stops, and the last lines must not be lost.
  const log = commandLogger('livewall-worker', 1, 'info');
  if (!log) return 1;
  const stop = stopSignal(
    (signal) => log.info({ signal, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'stopping: no new events; draining what was taken'),
    (signal) => log.warn({ signal }, 'second signal: exiting now; what was not confirmed stays in the outbox, if there is one'),
  );
  // Whatever the worker waits for (a broker it never reached, a drain that does not end), a stop ends it in time:
  // the drain's own limit, then a few seconds for closing connections.
  stop.addEventListener('abort', () => {
    setTimeout(() => {
      log.error({ shutdownTimeoutMs: config.shutdownTimeoutMs }, 'stop did not finish in time; exiting with what was not confirmed abandoned');
      process.exit(EXIT_ABANDONED);
    }, config.shutdownTimeoutMs + SHUTDOWN_GRACE_MS).unref();
  });
  try {
    return await runWorker(config, { dryRun, watch: values.watch ?? false, takeover: values.takeover ?? false }, log, stop);
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    log.error(error.message);
    process.stderr.write(`livewall-worker: ${error.message}\n`);
    return 1;
  }
}

function lintCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, 'skip-env-check': { type: 'boolean' }, 'env-file': { type: 'string', multiple: true } },
    strict: true,
  });
  if (positionals.length === 0) return usageError('lint: name a config file or more', 'lint');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') return usageError(`lint: --format must be text or json, not ${format}`, 'lint');
  let env: NodeJS.ProcessEnv;
  try {
    env = withEnvFiles(values['env-file'] ?? []);
  } catch (error) {
    return usageError(`lint: ${(error as Error).message}`, 'lint');
  }
  return runLint({ patterns: positionals, env, checkEnv: !values['skip-env-check'], format }, process.stdout);
}

async function tapCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { host: { type: 'string' }, port: { type: 'string' }, login: { type: 'string' }, profile: { type: 'string' }, limit: { type: 'string' }, ndjson: { type: 'boolean' }, moderation: { type: 'boolean' } },
    strict: true,
  });
  const moderation = values.moderation === true;
  const [feed] = positionals;
  if (positionals.length > 1 || (!feed && !moderation)) return usageError(moderation ? 'tap: --moderation takes one feed at most' : 'tap: name one feed', 'tap');
  const profile = values.profile ?? DEFAULT_BROKER_PROFILE;
  if (!isBrokerProfileName(profile)) return usageError(`tap: --profile must be one of ${BROKER_PROFILE_NAMES.join(', ')}, not ${profile}`, 'tap');
  // The plain STOMP port of the broker scripts/broker runs (its `env` prints LIVEWALL_STOMP_TCP_PORT), else the
  // port it gives a local broker of that kind.
  const fromEnv = process.env.LIVEWALL_STOMP_TCP_PORT?.trim();
  const port = values.port !== undefined ? Number(values.port) : fromEnv ? Number(fromEnv) : brokerProfile(profile).localPorts.stomp;
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return usageError(`tap: ${values.port !== undefined ? '--port' : 'LIVEWALL_STOMP_TCP_PORT'} must be a port number, not ${values.port ?? fromEnv}`, 'tap');
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) return usageError(`tap: --limit must be a positive whole number, not ${values.limit}`, 'tap');
  // What it does on stderr, as lines that say it all; the items alone on stdout, so that `tap FEED | jq` gets only items.
  const log = commandLogger('livewall-tap', 2, 'info', { fields: false });
  if (!log) return 1;
  const stop = stopSignal(() => undefined);
  const common = {
    profile,
    host: values.host ?? 'localhost',
    port,
    ...(values.login === undefined ? {} : { login: values.login, passcode: process.env.LIVEWALL_TAP_PASSCODE ?? '' }),
    format: values.ndjson || !process.stdout.isTTY ? ('ndjson' as const) : ('pretty' as const),
    ...(limit === undefined ? {} : { limit }),
    write: (text: string) => process.stdout.write(text),
  };
  if (moderation) await tapModeration({ ...common, ...(feed === undefined ? {} : { feed }), line: actionLine }, log, stop);
  else await tap({ ...common, feed: feed as string }, log, stop);
  return 0;
}

/** The STOMP port a command talks to: --port, else LIVEWALL_STOMP_TCP_PORT, else the local broker's of that kind. */
function stompPort(option: string | undefined, profile: Parameters<typeof brokerProfile>[0]): { port: number; from: string } {
  const fromEnv = process.env.LIVEWALL_STOMP_TCP_PORT?.trim();
  if (option !== undefined) return { port: Number(option), from: `--port ${option}` };
  if (fromEnv) return { port: Number(fromEnv), from: `LIVEWALL_STOMP_TCP_PORT ${fromEnv}` };
  return { port: brokerProfile(profile).localPorts.stomp, from: 'the default' };
}

async function moderateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { host: { type: 'string' }, port: { type: 'string' }, login: { type: 'string' }, profile: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const [action, feed, target, ...extra] = positionals;
  if (action === undefined) return usageError('moderate: name an action: hide, unhide, block, unblock or list', 'moderate');
  if (action !== 'list' && !isModerateAction(action)) return usageError(`moderate: unknown action ${JSON.stringify(action)}; expected hide, unhide, block, unblock or list`, 'moderate');
  const wants = action === 'list' ? 'FEED' : action === 'hide' || action === 'unhide' ? 'FEED ITEM_ID' : 'FEED NETWORK:HANDLE';
  const count = action === 'list' ? 1 : 2;
  if ([feed, target].filter((value) => value !== undefined).length !== count || extra.length > 0) return usageError(`moderate ${action}: expected ${wants}`, 'moderate');
  if (values.reason !== undefined && action !== 'hide' && action !== 'block') return usageError(`moderate ${action}: --reason goes with hide and block`, 'moderate');
  if (values.json && action !== 'list') return usageError('moderate: --json goes with list', 'moderate');
  const profile = values.profile ?? DEFAULT_BROKER_PROFILE;
  if (!isBrokerProfileName(profile)) return usageError(`moderate: --profile must be one of ${BROKER_PROFILE_NAMES.join(', ')}, not ${profile}`, 'moderate');
  const { port, from } = stompPort(values.port, profile);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return usageError(`moderate: ${from} is not a port number`, 'moderate');
  const passcode = process.env.LIVEWALL_MODERATOR_PASSWORD;
  if (!passcode) return usageError('moderate: LIVEWALL_MODERATOR_PASSWORD is not set: it holds the moderator login\'s password (scripts/broker env prints it)', 'moderate');
  const broker: ModerateTarget = { profile, host: values.host ?? 'localhost', port, login: values.login ?? 'moderator', passcode };
  try {
    if (action === 'list') {
      const list = await listModeration(feed as string, broker);
      process.stdout.write(values.json ? `${JSON.stringify(list)}\n` : listText(list));
      return 0;
    }
    const moderation = moderationAction(action, feed as string, target as string, broker.login, values.reason);
    const { topic } = await sendModeration(moderation, broker);
    process.stdout.write(`${action} ${moderation.itemId ?? `${moderation.author?.network}:${moderation.author?.handle}`} on feed ${moderation.feed}: recorded in the moderation log and sent to ${topic} (action ${moderation.actionId})\n`);
    return 0;
  } catch (error) {
    if (error instanceof ModerateUsageError) return usageError(`moderate ${error.message}`, 'moderate');
    if (!(error instanceof ModerateError)) throw error;
    process.stderr.write(`livewall-worker moderate ${action}: ${error.message}\n`);
    return 1;
  }
}

async function recordCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, source: { type: 'string' }, feed: { type: 'string' }, out: { type: 'string' }, limit: { type: 'string' }, duration: { type: 'string' } },
    strict: true,
  });
  if (!values.config || !values.source || !values.feed || !values.out) return usageError('record: --config, --source, --feed and --out are required', 'record');
  const network = values.source;
  if (network !== 'x' && network !== 'bluesky' && network !== 'mastodon') return usageError(`record: --source must be x, bluesky or mastodon, not ${network}`, 'record');
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) return usageError(`record: --limit must be a positive whole number, not ${values.limit}`, 'record');
  // A bare number is seconds here, as a person types it.
  const durationMs = values.duration === undefined ? undefined : parseDuration(/^\d+(\.\d+)?$/.test(values.duration) ? `${values.duration}s` : values.duration);
  if (values.duration !== undefined && !durationMs) return usageError(`record: --duration must be a duration such as 90s or 10m, not ${values.duration}`, 'record');
  let config: WorkerConfig;
  try {
    config = loadConfig(values.config, process.env, { requireBroker: false });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const log = commandLogger('livewall-record', 2, 'info');
  if (!log) return 1;
  const stop = stopSignal(() => undefined);
  try {
    const options = { network, feed: values.feed, out: values.out, ...(limit === undefined ? {} : { limit }), ...(durationMs === undefined ? {} : { durationMs }) } as const;
    const result = await record(config, options, defaultComponents(), systemClock, log, stop);
    log.info({ out: values.out, recorded: result.recorded, skipped: result.skipped }, `recorded ${result.recorded} events`);
    return 0;
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    process.stderr.write(`livewall-worker record: ${error.message}\n`);
    return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(COMMANDS, command) && rest.some((arg) => arg === '-h' || arg === '--help')) {
    process.stdout.write(commandHelp(command as CommandName));
    return 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`livewall-worker ${version()}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'run':
        return await run(rest);
      case 'lint':
        return lintCommand(rest);
      case 'tap':
        return await tapCommand(rest);
      case 'record':
        return await recordCommand(rest);
      case 'moderate':
        return await moderateCommand(rest);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        return usageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return usageError((error as Error).message, Object.hasOwn(COMMANDS, command ?? '') ? (command as CommandName) : undefined);
    throw error;
  }
}

// Exit as soon as the command is done: a connection that never opened (a broker that was never reached) may still
// hold a reconnect timer, which must not keep a stopped worker alive. Writes to stdout and stderr are synchronous
// on files and pipes here, so nothing written is lost.
process.exit(await main(process.argv.slice(2)));
