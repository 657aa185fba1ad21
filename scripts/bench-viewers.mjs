// Node viewers for scripts/bench-wall.mjs, which forks this file: each viewer is what a browser tab is to the
// broker — STOMP 1.2 over a WebSocket (the `ws` package), anonymous, heart-beats every 10 s as the page's, one
// SUBSCRIBE to the feed's topic with a receipt — and counts what it receives.
//
// The STOMP side is a few lines of its own rather than @stomp/stompjs (which the page uses): the viewers stand in for
// browsers on other machines, and on this one they share two cores with the broker and the page. stompjs in Node
// parses each frame byte by byte and cost about 60 µs of CPU per delivery here, against about 22 µs for these lines
// (200 viewers at 50 items/s, one process), so a thousand of them would take more than the machine. The broker sees
// the same frames either way: CONNECT with heart-beats, SUBSCRIBE with a receipt, heart-beats, DISCONNECT.
//
// Over IPC, from the parent:
//   { type: 'connect', url, destination, viewers, concurrency, total, idPrefix }
//        connect `viewers` clients, at most `concurrency` connecting at a time, each subscribing with a receipt;
//        answers { type: 'connected', connected, failed: [reasons], seconds }
//   { type: 'sent', seq, at }   item `seq` was sent at `at` (nowMs): latencies of its deliveries can be counted
//   { type: 'progress' }        answers { type: 'progress', received } (unique items, all viewers together)
//   { type: 'report' }          answers { type: 'report', report } (see report())
//   { type: 'stop' }            DISCONNECT every viewer, then exit
//
// A delivery's latency is this process's nowMs() when its WebSocket message arrives, minus the send time. The
// item's sequence number is read from its id (`…-<seq>"`, near the start of the body) without parsing the JSON:
// the page parses and validates every message, these viewers stand in for its connection and only count.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { LatencyHistogram, nowMs } from './bench-measure.mjs';

/** The same heart-beats as the page's: each side sends one every 10 s; the broker drops a connection silent for two. */
const HEARTBEAT_MS = 10_000;

let viewers = [];
let settings;
let sentAt;
const histogram = new LatencyHistogram();
/** How late this process's event loop ran, from the first SUBSCRIBE on: a late loop delays deliveries and heart-beats. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
/** Deliveries that arrived before their send time did (the IPC message can be behind): seq → [receive times]. */
const early = new Map();

process.on('message', (message) => {
  const handlers = { connect, sent, progress, report, stop };
  Promise.resolve(handlers[message.type](message)).catch((error) => {
    process.stderr.write(`bench-viewers: ${message.type}: ${error.stack ?? error}\n`);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));

async function connect(message) {
  settings = message;
  sentAt = new Float64Array(settings.total);
  loopDelay.enable();
  const started = nowMs();
  const failed = [];
  let next = 0;
  const worker = async () => {
    while (next < settings.viewers) {
      const index = next++;
      try {
        viewers.push(await connectViewer(index));
      } catch (error) {
        failed.push(error.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, settings.viewers) }, worker));
  process.send({ type: 'connected', connected: viewers.length, failed, seconds: (nowMs() - started) / 1000 });
}

/** One viewer: resolves once the broker confirmed its subscription (RECEIPT), rejects if it could not get there. */
function connectViewer(index) {
  const viewer = { seen: new Uint8Array(settings.total), received: 0, duplicates: 0, foreign: 0, closed: undefined, socket: undefined, heartbeat: undefined };
  return new Promise((resolve, reject) => {
    let subscribed = false;
    const fail = (reason) => {
      viewer.closed ??= reason;
      if (!subscribed) reject(new Error(viewer.closed));
    };
    const socket = new WebSocket(settings.url, ['v12.stomp'], { perMessageDeflate: false });
    viewer.socket = socket;
    socket.on('open', () => {
      const host = new URL(settings.url).hostname;
      socket.send(`CONNECT\naccept-version:1.2\nhost:${host}\nheart-beat:${HEARTBEAT_MS},${HEARTBEAT_MS}\n\n\0`);
    });
    socket.on('message', (data) => {
      // One WebSocket message carries a frame, a heart-beat (an end of line), or, rarely, several frames.
      const text = data.toString();
      for (const frame of text.includes('\0') ? text.split('\0') : [text]) {
        if (frame.startsWith('MESSAGE')) deliver(viewer, frame);
        else if (frame.startsWith('CONNECTED')) {
          viewer.heartbeat = setInterval(() => socket.send('\n'), HEARTBEAT_MS);
          socket.send(`SUBSCRIBE\nid:0\ndestination:${settings.destination}\nack:auto\nreceipt:viewer-${process.pid}-${index}\n\n\0`);
        } else if (frame.startsWith('RECEIPT')) {
          subscribed = true;
          resolve(viewer);
        } else if (frame.startsWith('ERROR')) fail(`STOMP ERROR ${/\nmessage:([^\n]*)/.exec(frame)?.[1] ?? ''}`);
      }
    });
    socket.on('error', (error) => fail(`WebSocket error (${error.message})`));
    socket.on('close', (code) => {
      clearInterval(viewer.heartbeat);
      fail(`WebSocket closed (${code})`);
    });
  });
}

/** A MESSAGE frame, headers and body: only the body holds the item's id. */
function deliver(viewer, frame) {
  const at = nowMs();
  const start = frame.indexOf(settings.idPrefix);
  if (start < 0) {
    viewer.foreign++;
    return;
  }
  const digits = start + settings.idPrefix.length;
  const seq = Number(frame.slice(digits, frame.indexOf('"', digits)));
  if (!(seq >= 0 && seq < settings.total)) {
    viewer.foreign++;
    return;
  }
  if (viewer.seen[seq]) {
    viewer.duplicates++;
    return;
  }
  viewer.seen[seq] = 1;
  viewer.received++;
  if (sentAt[seq] > 0) histogram.add(at - sentAt[seq]);
  else early.set(seq, [...(early.get(seq) ?? []), at]);
}

function sent({ seq, at }) {
  sentAt[seq] = at;
  for (const received of early.get(seq) ?? []) histogram.add(received - at);
  early.delete(seq);
}

function progress() {
  process.send({ type: 'progress', received: viewers.reduce((sum, viewer) => sum + viewer.received, 0) });
}

/**
 * Per viewer: how many of the items it received (unique), duplicates, messages that were not this run's items, and
 * whether its connection closed; the latency histogram of all of them; how late the event loop ran.
 */
function report() {
  const received = viewers.map((viewer) => viewer.received);
  process.send({
    type: 'report',
    report: {
      viewers: viewers.length,
      received: received.reduce((sum, n) => sum + n, 0),
      fewest: received.length ? Math.min(...received) : 0,
      short: received.filter((n) => n < settings.total).length,
      duplicates: viewers.reduce((sum, viewer) => sum + viewer.duplicates, 0),
      foreign: viewers.reduce((sum, viewer) => sum + viewer.foreign, 0),
      closed: viewers.filter((viewer) => viewer.closed !== undefined).map((viewer) => viewer.closed),
      unmatched: [...early.values()].reduce((sum, times) => sum + times.length, 0),
      latency: histogram.toJSON(),
      loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    },
  });
}

async function stop() {
  const closing = viewers;
  viewers = [];
  // In slices: a thousand DISCONNECTs at once is the stampede the connect ramp avoids.
  for (let index = 0; index < closing.length; index += 50) {
    await Promise.all(
      closing.slice(index, index + 50).map(
        (viewer) =>
          new Promise((resolve) => {
            clearInterval(viewer.heartbeat);
            if (viewer.socket.readyState !== WebSocket.OPEN) return resolve();
            viewer.socket.once('close', resolve);
            viewer.socket.send('DISCONNECT\n\n\0', () => viewer.socket.close());
          }),
      ),
    );
  }
  process.exit(0);
}
