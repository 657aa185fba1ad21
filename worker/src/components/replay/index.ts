import { resolve } from 'node:path';
import type { Component, Consumer, EndpointContext, Sink } from '../../engine/types.js';
import { Watermark } from '../../engine/settlement.js';
import type { CursorStore } from '../../outbox/cursors.js';
import { replayLines, type ReplayOptions } from '../../sources/replay/replay.js';

/** A replay's place: the last line of the file (in pass `pass`) up to which everything was dealt with. */
interface Place {
  pass: number;
  line: number;
}

function placeOf(value: unknown): Place | undefined {
  const place = value as Partial<Place> | undefined;
  return Number.isInteger(place?.pass) && Number.isInteger(place?.line) ? (place as Place) : undefined;
}

/**
 * Plays a recording (newline-delimited raw events, exactly as a live source sent them) into a route. Each line is
 * an exchange whose body is the raw line; the route decodes it with the same decoder as the live source. A
 * replay can wait: it is paused when the route's queue is full.
 */
class ReplayConsumer implements Consumer {
  readonly live = false;

  constructor(private readonly context: EndpointContext) {}

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    const { options, uri, baseDir, clock, log } = this.context;
    const file = resolve(baseDir, uri.path);
    const replay: ReplayOptions = {
      file,
      loop: options.loop as boolean,
      startOffset: options.startOffset as number,
      ...(options.pace === undefined ? {} : { pace: options.pace as number }),
    };
    // With an outbox the replay keeps its place there, as a live source keeps its cursor: a restart, even after a
    // kill -9, goes on after the last line whose items were all safe in the outbox.
    const cursors = this.context.settings.cursors as CursorStore | undefined;
    const key = `replay:${file}`;
    const place = cursors === undefined ? undefined : placeOf(cursors.get(key));
    if (place) {
      replay.startPass = place.pass;
      replay.startOffset = place.line;
      log.info({ file, pass: place.pass, line: place.line }, 'replay: resuming after the last line it had dealt with');
    }
    const watermark = cursors && new Watermark<Place>((settled) => cursors.set(key, settled));
    for await (const event of replayLines(replay, signal, (ms, abort) => clock.sleep(ms, abort))) {
      // Keep-alive lines are part of the stream's framing, not events.
      if (event.line.trim() === '') continue;
      await sink.offer(event.line, { pass: event.pass, line: event.number, source: uri.raw }, watermark?.track({ pass: event.pass, line: event.number }));
    }
  }
}

export const replayComponent: Component = {
  scheme: 'replay',
  doc: 'Plays a recording of a live source line by line, paced, optionally in a loop; a full route pauses it.',
  path: { doc: 'the recording, relative to the config file', required: true },
  options: {
    pace: { type: 'rate', doc: 'events per second, e.g. 5/s or 300/min; unset plays as fast as the route takes them' },
    loop: { type: 'boolean', doc: 'start again from the top at the end', default: false },
    startOffset: { type: 'integer', doc: 'lines of the first pass to skip', default: 0, min: 0 },
  },
  createConsumer: (context) => new ReplayConsumer(context),
};
