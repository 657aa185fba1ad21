import { FEED_NAME } from '@livewall/contract';

/**
 * The workers' status messages (worker/src/ops/status-message.ts), which they publish every few seconds on the
 * status topic: which host, in which region, carries which feed, at how many items a minute. The page trusts
 * nothing it receives: a message is checked field by field, and only the fields shown are kept.
 */

export interface WorkerFeedStatus {
  feed: string;
  /** The route's state, e.g. started, suspended, failed. */
  state: string;
  itemsPerMinute: number;
}

export interface WorkerReport {
  host: string;
  region?: string;
  /** When the worker built the message, epoch ms (its clock). */
  at: number;
  feeds: WorkerFeedStatus[];
}

/** A status message is a few hundred bytes per feed. */
const MAX_BYTES = 64 * 1024;
const MAX_FEEDS = 500;
const MAX_NAME = 100;
/** How many workers the page keeps track of: the newest reports win. */
const MAX_WORKERS = 64;
/** A worker publishes every 5 s: without a word for this long its report is old news. */
export const FRESH_MS = 30_000;
/** Reports built longer ago than this are the broker's replay of old ones, not a worker that is running. */
const REPLAY_MS = 5 * 60_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function name(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > MAX_NAME || /\p{Cc}/u.test(trimmed)) return undefined;
  return trimmed;
}

/** The report in a status message body, or undefined for anything that is not a valid v1 worker status. */
export function parseWorkerStatus(body: Uint8Array | string): WorkerReport | undefined {
  let text: string;
  try {
    if (typeof body === 'string') text = body;
    else if (body.byteLength > MAX_BYTES) return undefined;
    else text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
  if (text.length > MAX_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value.v !== 1 || value.kind !== 'worker-status') return undefined;
  const host = name(value.host);
  if (host === undefined) return undefined;
  const at = typeof value.at === 'string' ? Date.parse(value.at) : NaN;
  if (Number.isNaN(at)) return undefined;
  if (!Array.isArray(value.feeds) || value.feeds.length > MAX_FEEDS) return undefined;
  const feeds: WorkerFeedStatus[] = [];
  for (const entry of value.feeds) {
    if (!isRecord(entry) || typeof entry.feed !== 'string' || !FEED_NAME.test(entry.feed)) return undefined;
    const state = name(entry.state);
    const rate = entry.itemsPerMinute;
    if (state === undefined || typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) return undefined;
    feeds.push({ feed: entry.feed, state, itemsPerMinute: rate });
  }
  const report: WorkerReport = { host, at, feeds };
  if (value.region !== undefined) {
    const region = name(value.region);
    if (region === undefined) return undefined;
    report.region = region;
  }
  return report;
}

/** Who serves a feed, from the reports heard lately. */
export interface Serving {
  /** Workers that reported the feed within FRESH_MS, the most recently heard first. */
  workers: { host: string; region?: string; state: string; itemsPerMinute: number }[];
  /** When a report naming the feed was last received (this page's clock); undefined if never. */
  lastHeard?: number;
}

/** The latest report of each worker, by host. */
export class WorkerDirectory {
  private readonly reports = new Map<string, { report: WorkerReport; receivedAt: number }>();

  /** Keeps `report` as its host's latest, unless it is an old one replayed by the broker. */
  receive(report: WorkerReport, now: number): void {
    if (report.at < now - REPLAY_MS) return;
    this.reports.delete(report.host);
    this.reports.set(report.host, { report, receivedAt: now });
    while (this.reports.size > MAX_WORKERS) this.reports.delete(this.reports.keys().next().value as string);
  }

  serving(feed: string, now: number): Serving {
    const serving: Serving = { workers: [] };
    // A Map iterates in insertion order and receive re-inserts: the most recently heard come last.
    for (const { report, receivedAt } of [...this.reports.values()].reverse()) {
      const status = report.feeds.find((entry) => entry.feed === feed);
      if (!status) continue;
      serving.lastHeard = Math.max(serving.lastHeard ?? 0, receivedAt);
      if (now - receivedAt > FRESH_MS) continue;
      const worker: Serving['workers'][number] = { host: report.host, state: status.state, itemsPerMinute: status.itemsPerMinute };
      if (report.region !== undefined) worker.region = report.region;
      serving.workers.push(worker);
    }
    return serving;
  }
}

export interface ServingText {
  /** fresh: a worker reported the feed lately; stale: none has for a while; unknown: none ever did. */
  state: 'fresh' | 'stale' | 'unknown';
  text: string;
  detail: string;
}

function rate(perMinute: number): string {
  return perMinute >= 10 ? String(Math.round(perMinute)) : String(Math.round(perMinute * 10) / 10);
}

function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h`;
}

/** The header's short line about who serves the feed ("worker-1 · eu-west · 12/min") and its tooltip. */
export function describeServing(serving: Serving, now: number): ServingText {
  const [first, ...others] = serving.workers;
  if (!first) {
    if (serving.lastHeard === undefined) return { state: 'unknown', text: '', detail: '' };
    const since = ago(now - serving.lastHeard);
    return { state: 'stale', text: `No worker status for ${since}`, detail: `No worker has reported this feed for ${since}: new posts may be late.` };
  }
  const total = serving.workers.reduce((sum, worker) => sum + worker.itemsPerMinute, 0);
  const where = [others.length > 0 ? `${first.host} +${others.length}` : first.host];
  if (first.region !== undefined) where.push(first.region);
  if (first.state !== 'started') where.push(first.state);
  const detail = serving.workers
    .map((worker) => `${worker.host}${worker.region !== undefined ? ` in ${worker.region}` : ''}: ${rate(worker.itemsPerMinute)} posts a minute (${worker.state})`)
    .join('; ');
  return { state: 'fresh', text: `${where.join(' · ')} · ${rate(total)}/min`, detail: `Served by ${detail}` };
}
