// What runs in a long task, from a Chrome trace taken over CDP (Tracing domain): the page's main thread
// (CrRendererMain) is cut into its top-level tasks, and each task over the threshold is broken down by the trace
// events inside it (self time per event name: V8 GC, style recalculation, layout, paint, image decoding, the page's
// own script, ...). Used by `scripts/bench soak --trace-at`.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The categories DevTools' Performance panel records, less the stack samples: enough to name what a task spent its
 * time on, small enough to trace a minute of a busy page.
 */
const CATEGORIES = [
  'toplevel',
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'v8',
  'v8.execute',
  'disabled-by-default-v8.gc',
  'blink.user_timing',
  'loading',
];

/** The events that are the main thread's top-level tasks, by name. */
const TASKS = new Set(['ThreadControllerImpl::RunTask', 'RunTask']);

/** Starts a trace on `cdp` (a CDP session of the page); the events stream to a handle read by stopTrace. */
export async function startTrace(cdp) {
  await cdp.send('Tracing.start', { transferMode: 'ReturnAsStream', traceConfig: { includedCategories: CATEGORIES, excludedCategories: ['*'] } });
}

/** Ends the trace started by startTrace; resolves with its events. */
export async function stopTrace(cdp) {
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.end');
  const { stream } = await complete;
  const chunks = [];
  for (;;) {
    const { data, eof, base64Encoded } = await cdp.send('IO.read', { handle: stream, size: 4 << 20 });
    chunks.push(base64Encoded ? Buffer.from(data, 'base64').toString('utf8') : data);
    if (eof) break;
    await sleep(0);
  }
  await cdp.send('IO.close', { handle: stream });
  const parsed = JSON.parse(chunks.join(''));
  return Array.isArray(parsed) ? parsed : parsed.traceEvents;
}

/**
 * The renderers' main threads (CrRendererMain) in `events`: `cpuMs`, their CPU time in all their top-level tasks;
 * `cpuByName`, that CPU time by trace event (self time, largest first: what the thread spends its time on); and
 * `tasks`, the long ones: [{ start (µs, trace clock), durationMs, cpuMs, top: [[name, selfMs], ...] }], the top
 * being the events inside the task by self time (wall clock), largest first. A task's cpuMs is the thread's CPU time
 * in it (the trace's thread clock): on a busy machine a task is long partly because the thread waited for a CPU,
 * and the difference says how much. B/E pairs are folded into complete events; other threads (raster, compositor)
 * are not part of a main-thread task.
 */
export function mainThreadIn(events, thresholdMs = 50) {
  const mainThreads = new Set(events.filter((event) => event.ph === 'M' && event.name === 'thread_name' && event.args?.name === 'CrRendererMain').map((event) => `${event.pid}:${event.tid}`));
  const byThread = new Map();
  const open = new Map();
  for (const event of events) {
    const thread = `${event.pid}:${event.tid}`;
    if (!mainThreads.has(thread)) continue;
    let complete;
    if (event.ph === 'X') complete = { name: event.name, ts: event.ts, dur: event.dur ?? 0, tdur: event.tdur };
    else if (event.ph === 'B') {
      const stack = open.get(thread) ?? [];
      stack.push(event);
      open.set(thread, stack);
    } else if (event.ph === 'E') {
      const begin = open.get(thread)?.pop();
      if (begin) complete = { name: begin.name, ts: begin.ts, dur: event.ts - begin.ts, tdur: event.tts !== undefined && begin.tts !== undefined ? event.tts - begin.tts : undefined };
    }
    if (!complete) continue;
    const list = byThread.get(thread) ?? [];
    list.push(complete);
    byThread.set(thread, list);
  }
  const tasks = [];
  const cpuByName = new Map();
  let cpuMs = 0;
  for (const list of byThread.values()) {
    // Parents before children: by start, the longer first when two start together.
    list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    let index = 0;
    while (index < list.length) {
      const task = list[index];
      if (!TASKS.has(task.name)) {
        index++;
        continue;
      }
      // A task nested in this one (a nested run loop) is part of it.
      const end = task.ts + task.dur;
      const inside = [];
      for (index++; index < list.length && list[index].ts < end; index++) inside.push(list[index]);
      cpuMs += (task.tdur ?? 0) / 1000;
      for (const [name, selfMs] of selfTimes(task, inside, 'tdur')) cpuByName.set(name, (cpuByName.get(name) ?? 0) + selfMs);
      if (task.dur >= thresholdMs * 1000) tasks.push({ start: task.ts, durationMs: task.dur / 1000, cpuMs: task.tdur === undefined ? undefined : task.tdur / 1000, top: selfTimes(task, inside, 'dur') });
    }
  }
  tasks.sort((a, b) => a.start - b.start);
  return { tasks, cpuMs, cpuByName: [...cpuByName].sort((a, b) => b[1] - a[1]) };
}

/**
 * Self time by event name of `task` and the events nested in it (sorted parents first), in ms, largest first,
 * measured by `clock`: 'dur' (wall clock) or 'tdur' (the thread's CPU time; 0 for an event without one).
 */
function selfTimes(task, inside, clock) {
  const self = new Map();
  const length = (event) => event[clock] ?? 0;
  const stack = [{ name: task.name, ts: task.ts, dur: task.dur, length: length(task), child: 0 }];
  const close = (event) => self.set(event.name, (self.get(event.name) ?? 0) + Math.max(0, event.length - event.child) / 1000);
  for (const event of inside) {
    while (stack.length > 1 && event.ts >= stack.at(-1).ts + stack.at(-1).dur) close(stack.pop());
    const parent = stack.at(-1);
    const dur = Math.min(event.dur, parent.ts + parent.dur - event.ts);
    parent.child += length(event);
    stack.push({ name: event.name, ts: event.ts, dur, length: length(event), child: 0 });
  }
  while (stack.length > 0) close(stack.pop());
  return [...self].filter(([, ms]) => ms >= 0.05).sort((a, b) => b[1] - a[1]);
}
