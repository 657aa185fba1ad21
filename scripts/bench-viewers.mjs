// Node viewers for scripts/bench-wall.mjs, which forks this file: each viewer is what a browser tab is to the
// broker — @stomp/stompjs over a WebSocket (the `ws` package), anonymous, heart-beats every 10 s as the page's,
// one SUBSCRIBE to the feed's topic — and counts what it receives.
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
// A delivery's latency is this process's nowMs() when stompjs hands the message over, minus the send time. The
// item's sequence number is read from its id (`…-<seq>"`, near the start of the body) without parsing the JSON:
// the page parses and validates every message, these viewers stand in for its connection and only count.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import { LatencyHistogram, nowMs } from './bench-measure.mjs';

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
  const viewer = { seen: new Uint8Array(settings.total), received: 0, duplicates: 0, foreign: 0, closed: undefined, client: undefined };
  return new Promise((resolve, reject) => {
    let subscribed = false;
    const client = new Client({
      webSocketFactory: () => new WebSocket(settings.url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      reconnectDelay: 0,
      heartbeatIncoming: 10_000,
      heartbeatOutgoing: 10_000,
      onConnect: () => {
        const receipt = `viewer-${process.pid}-${index}`;
        client.watchForReceipt(receipt, () => {
          subscribed = true;
          resolve(viewer);
        });
        client.subscribe(settings.destination, (frame) => deliver(viewer, frame.body), { receipt });
      },
      onStompError: (frame) => {
        viewer.closed = `STOMP ERROR ${frame.headers.message ?? ''}`;
        if (!subscribed) reject(new Error(viewer.closed));
      },
      onWebSocketClose: (event) => {
        viewer.closed ??= `WebSocket closed (${event.code})`;
        if (!subscribed) reject(new Error(viewer.closed));
      },
    });
    viewer.client = client;
    client.activate();
  });
}

function deliver(viewer, body) {
  const at = nowMs();
  const start = body.indexOf(settings.idPrefix);
  if (start < 0) {
    viewer.foreign++;
    return;
  }
  const digits = start + settings.idPrefix.length;
  const seq = Number(body.slice(digits, body.indexOf('"', digits)));
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
  for (let index = 0; index < closing.length; index += 50) await Promise.all(closing.slice(index, index + 50).map((viewer) => viewer.client.deactivate()));
  process.exit(0);
}
