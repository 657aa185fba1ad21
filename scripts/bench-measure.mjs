// What the wall benchmarks (scripts/bench-wall.mjs, scripts/bench-soak.mjs) measure with: a wall-clock time in
// milliseconds with sub-millisecond resolution that means the same in Node and in Chromium on this machine,
// percentiles, a latency histogram that child processes can send over IPC, and CPU time by process from /proc.
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * Milliseconds since the epoch, from the monotonic clock: the same arithmetic as `performance.timeOrigin +
 * performance.now()` inside the page, so a send time taken here and a mark taken there can be subtracted.
 */
export const nowMs = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The nearest-rank percentile `p` (0–100) of numbers sorted ascending; NaN for none. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50, p95, p99 and the maximum of `values` (not sorted; left alone). */
export function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1] : Number.NaN };
}

/**
 * Latencies in 0.1 ms buckets: a million deliveries cost no more memory than a thousand, and histograms from several
 * processes add up. Values over a minute go into the last bucket (and set the maximum).
 */
export class LatencyHistogram {
  static BUCKET_MS = 0.1;
  static BUCKETS = 600_000;

  counts = new Uint32Array(LatencyHistogram.BUCKETS);
  count = 0;
  max = Number.NEGATIVE_INFINITY;
  min = Number.POSITIVE_INFINITY;

  add(ms) {
    const bucket = Math.min(LatencyHistogram.BUCKETS - 1, Math.max(0, Math.floor(ms / LatencyHistogram.BUCKET_MS)));
    this.counts[bucket]++;
    this.count++;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
  }

  /** The non-empty buckets as [bucket, count] pairs, plus count, min and max: small enough for IPC. */
  toJSON() {
    const buckets = [];
    for (let bucket = 0; bucket < this.counts.length; bucket++) if (this.counts[bucket]) buckets.push([bucket, this.counts[bucket]]);
    return { buckets, count: this.count, min: this.min, max: this.max };
  }

  /** Adds a histogram sent as toJSON(). */
  merge({ buckets, count, min, max }) {
    for (const [bucket, n] of buckets) this.counts[bucket] += n;
    this.count += count;
    if (count > 0) {
      this.max = Math.max(this.max, max);
      this.min = Math.min(this.min, min);
    }
  }

  /** The upper edge of the bucket holding the nearest-rank percentile `p`: within 0.1 ms above the true value. */
  percentile(p) {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) return Math.min(this.max, (bucket + 1) * LatencyHistogram.BUCKET_MS);
    }
    return this.max;
  }

  summary() {
    return { count: this.count, p50: this.percentile(50), p95: this.percentile(95), p99: this.percentile(99), max: this.count ? this.max : Number.NaN };
  }
}

const clockTicks = Number(process.env.BENCH_CLK_TCK) || 100;

/** [parent pid, CPU seconds (utime + stime)] of a process from /proc, or undefined when it is gone. */
function processStat(pid) {
  try {
    // After the command (which may hold spaces): field 3 is the state, so ppid, utime and stime sit at 1, 11, 12.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return [Number(fields[1]), (Number(fields[11]) + Number(fields[12])) / clockTicks];
  } catch {
    return undefined;
  }
}

/**
 * A process's share of memory in bytes (PSS: its private pages plus its share of pages it shares, so that the
 * processes of one browser add up without counting shared libraries and memory many times), 0 when it is gone.
 */
export function proportionalBytes(pid) {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Chromium's memory (PSS, bytes) by kind of process, for the Chromium processes below `root`: `browser` (the
 * process without a --type), `renderer`, `gpu`, `network` (the network service, a utility process: its in-memory
 * HTTP cache when the context has no disk cache), `other` (zygotes, other utilities, the crash handler).
 */
export function chromiumMemoryByKind(root) {
  const kinds = { browser: 0, renderer: 0, gpu: 0, network: 0, other: 0 };
  for (const pid of descendants(root)) {
    let line;
    try {
      // Chromium rewrites its command line as one string (spaces, not NULs, between the arguments).
      line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    const type = /--type=(\S+)/.exec(line)?.[1];
    const kind =
      type === undefined ? (/crashpad/.test(line) ? 'other' : 'browser')
      : type === 'renderer' ? 'renderer'
      : type === 'gpu-process' ? 'gpu'
      : line.includes('network.mojom.NetworkService') ? 'network'
      : 'other';
    kinds[kind] += proportionalBytes(pid);
  }
  return kinds;
}

/** Every process below `root` (not `root` itself). */
export function descendants(root) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(entry);
    if (!stat) continue;
    const siblings = children.get(stat[0]) ?? [];
    siblings.push(Number(entry));
    children.set(stat[0], siblings);
  }
  const found = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Busy and total CPU seconds of the whole machine so far, from /proc/stat. */
function machineSeconds() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = ticks.slice(0, 8).reduce((sum, n) => sum + n, 0);
  return { busy: (total - ticks[3] - ticks[4]) / clockTicks, total: total / clockTicks };
}

/**
 * CPU seconds used so far by each group of processes: `groups` maps a name to a function giving that group's pids
 * (asked anew at every snapshot, so processes that start later count). `rest` names every other process below this
 * one (Chromium's, here). Also this process itself (`bench`) and the machine.
 */
export function cpuSnapshot(groups, rest) {
  const counted = new Set([process.pid]);
  const seconds = {};
  for (const [name, pids] of Object.entries(groups)) {
    seconds[name] = 0;
    for (const pid of pids()) {
      if (counted.has(pid)) continue;
      counted.add(pid);
      seconds[name] += processStat(pid)?.[1] ?? 0;
    }
  }
  seconds[rest] = 0;
  for (const pid of descendants(process.pid)) if (!counted.has(pid)) seconds[rest] += processStat(pid)?.[1] ?? 0;
  const { user, system } = process.cpuUsage();
  seconds.bench = (user + system) / 1e6;
  return { at: nowMs(), seconds, machine: machineSeconds() };
}

/**
 * What each group used between two snapshots, as CPU cores (1.0 = one core busy all the time), and how busy the
 * machine was (busy cores, of `os.availableParallelism()`). A group whose processes ended in between is not counted.
 */
export function cpuBetween(before, after) {
  const wall = (after.at - before.at) / 1000;
  const cores = {};
  for (const name of Object.keys(after.seconds)) cores[name] = Math.max(0, (after.seconds[name] - (before.seconds[name] ?? 0)) / wall);
  const machine = (after.machine.busy - before.machine.busy) / wall;
  return { wallSeconds: wall, cores, machine };
}

/** Formats a figure in ms for a report. */
export const ms = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** A benchmark's argument or setting problem: said on stderr as `script: message`, exit code 2. */
export function usageError(script, message) {
  process.stderr.write(`${script}: ${message}\n`);
  process.exit(2);
}

/** `text` as a whole number of at least 1, else a usage error naming the option `--name`. */
export function positiveOption(script, name, text) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) usageError(script, `--${name} must be a whole number of at least 1 (got ${JSON.stringify(text)})`);
  return value;
}
