// The benchmarks' recordings: the bundled X sample (samples/x-cats.ndjson) repeated to `lineCount` lines —
// keep-alives, posts without pictures and the other feed's posts included as they are — every post with an id of
// its own (from `firstId` on) and the sample's feed `cats` renamed to `feed`. Returns the lines.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sample = readFileSync(fileURLToPath(new URL('../samples/x-cats.ndjson', import.meta.url)), 'utf8').replace(/\n$/, '').split('\n');

export function repeatedSample(lineCount, feed, firstId = 10n ** 18n) {
  const recording = [];
  for (let index = 0; index < lineCount; index++) {
    const line = sample[index % sample.length];
    if (line.trim() === '') {
      recording.push('');
      continue;
    }
    const event = JSON.parse(line);
    if (event.data) {
      event.data.id = String(firstId + BigInt(index));
      event.data.edit_history_tweet_ids = [event.data.id];
    }
    for (const rule of event.matching_rules ?? []) if (rule.tag === 'cats') rule.tag = feed;
    recording.push(JSON.stringify(event));
  }
  return recording;
}

/**
 * The worker config the engine benchmarks run: the bench broker (from BENCH_AMQP_URL and BENCH_AMQP_PASSWORD, as
 * the worker reads its environment), the X source replaying `recording.ndjson` next to the config with `replay`'s
 * settings (YAML lines at its indentation), and one feed `feed` on network x.
 */
export function benchConfigText(feed, replay = '      loop: false\n') {
  return `broker:
  url: \${BENCH_AMQP_URL}
  username: publisher
  password: \${BENCH_AMQP_PASSWORD}
sources:
  x:
    replay:
      file: recording.ndjson
${replay}feeds:
  - name: ${feed}
    network: x
`;
}
