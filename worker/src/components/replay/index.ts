import { resolve } from 'node:path';
import type { Component, Consumer, EndpointContext, Sink } from '../../engine/types.js';
import { replayLines } from '../../sources/replay/replay.js';

/**
 * Plays a recording (newline-delimited raw events, exactly as a live source sent them) into a route. Each line is
 * an exchange whose body is the raw line; the route decodes it with the same decoder as the live source. A
 * replay can wait: it is paused when the route's queue is full.
 */
class ReplayConsumer implements Consumer {
  readonly live = false;

  constructor(private readonly context: EndpointContext) {}

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    const { options, uri, baseDir, clock } = this.context;
    const replay = {
      file: resolve(baseDir, uri.path),
      loop: options.loop as boolean,
      startOffset: options.startOffset as number,
      ...(options.pace === undefined ? {} : { pace: options.pace as number }),
    };
    let line = 0;
    for await (const event of replayLines(replay, signal, (ms, abort) => clock.sleep(ms, abort))) {
      line += 1;
      // Keep-alive lines are part of the stream's framing, not events.
      if (event.line.trim() === '') continue;
      await sink.offer(event.line, { pass: event.pass, line, source: uri.raw });
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
