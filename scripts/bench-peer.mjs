// The peer benchmark's Camel side (scripts/bench peer): builds the Camel application in scripts/peer/camel once
// (mvn package; the first build downloads Camel and its dependencies from Maven Central into ~/.m2), starts it as a
// long-running JVM that takes `run stock|parallel FILE` on stdin, and reads its CPU time from /proc. Also the wire
// check: a subscriber that keeps what each side published, to compare bodies and message properties.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import rhea from 'rhea';

const project = fileURLToPath(new URL('./peer/camel/', import.meta.url));
const say = (message) => process.stderr.write(`bench: ${message}\n`);

/** The newest modification time under `path` (a file or a folder, recursively). */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newest(`${path}/${entry}`)));
}

/**
 * Builds the Camel application unless target/ is newer than its sources and pom.xml; returns its Java classpath.
 * The build goes online (it is the first run that fills ~/.m2; later builds find everything there).
 */
export function buildCamelPeer() {
  const marker = `${project}target/classes/livewall/peer/PeerApp.class`;
  const libs = `${project}target/lib`;
  const fresh = existsSync(marker) && existsSync(libs) && statSync(marker).mtimeMs >= Math.max(newest(`${project}src`), newest(`${project}pom.xml`));
  if (!fresh) {
    say('building the Camel peer (mvn package in scripts/peer/camel; the first build downloads from Maven Central)');
    // Maven's output goes to stderr with the progress: stdout is the report.
    const build = spawnSync('mvn', ['-B', '-q', '-Dstyle.color=never', 'package'], { cwd: project, stdio: ['ignore', 2, 2] });
    if (build.error || build.status !== 0) throw new Error(`mvn package in ${project} failed${build.error ? `: ${build.error.message}` : ` with exit code ${build.status}`}`);
  }
  return `${project}target/classes:${libs}/*`;
}

/** CPU seconds (utime + stime) of process `pid` so far, from /proc. */
export function processCpuSeconds(pid, clockTicks) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/**
 * Starts the Camel application, publishing to /topic/feed.<feed>. Resolves, once Camel has started, with its pid and
 * Camel version, `run(route, file)` (resolves with the JVM's answer: route, sent, dropped, failed, ms) and `close()`.
 */
export function startCamelPeer({ classpath, url, password, feed, threads }) {
  const jvm = spawn('java', ['-cp', classpath, 'livewall.peer.PeerApp'], {
    env: { ...process.env, PEER_AMQP_URL: url, PEER_AMQP_PASSWORD: password, PEER_FEED: feed, PEER_THREADS: String(threads) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Camel's own log lines (start-up, warnings) are kept for a failure, not shown.
  const log = [];
  createInterface({ input: jvm.stderr }).on('line', (line) => {
    log.push(line);
    if (log.length > 200) log.shift();
  });
  const answers = createInterface({ input: jvm.stdout });
  let waiting;
  let exited;
  answers.on('line', (line) => {
    const wake = waiting;
    waiting = undefined;
    wake?.resolve(JSON.parse(line));
  });
  jvm.on('exit', (code, signal) => {
    exited = new Error(`the Camel peer exited (${signal ?? `code ${code}`}); its last log lines:\n${log.slice(-30).join('\n')}`);
    waiting?.reject(exited);
  });
  const answer = () =>
    new Promise((resolve, reject) => {
      if (exited) reject(exited);
      else waiting = { resolve, reject };
    });
  const peer = {
    pid: jvm.pid,
    async run(route, file) {
      const result = answer();
      jvm.stdin.write(`run ${route} ${file}\n`);
      const done = await result;
      if (done.error) throw new Error(`the Camel peer: ${done.error}`);
      if (done.failed > 0) throw new Error(`the Camel peer: ${done.failed} of the ${route} route's sends failed; its last log lines:\n${log.slice(-10).join('\n')}`);
      return done;
    },
    close() {
      if (exited) return Promise.resolve();
      const gone = new Promise((resolve) => jvm.once('exit', resolve));
      jvm.stdin.end('quit\n');
      const timer = setTimeout(() => jvm.kill(), 30_000);
      return gone.finally(() => clearTimeout(timer));
    },
  };
  return answer().then((ready) => ({ ...peer, version: ready.camel }));
}

/**
 * A subscriber to `topic` (AMQP, as the broker's viewer) that keeps every message it receives: `take(count)` resolves
 * with the next `count` messages (id, content type, durable, body text, annotation and property names).
 */
export function openWireTap({ url, username, password, topic }) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const container = rhea.create_container({ id: `livewall-bench-wiretap-${process.pid}` });
    const connection = container.connect({ host: target.hostname, port: Number(target.port), username, password, reconnect: false });
    const receiver = connection.open_receiver({ source: { address: topic }, credit_window: 500 });
    const kept = [];
    let want;
    const check = () => {
      if (want && kept.length >= want.count) {
        const { count, resolve: done } = want;
        want = undefined;
        done(kept.splice(0, count));
      }
    };
    receiver.on('message', ({ message }) => {
      const body = message.body?.typecode === 0x75 ? message.body.content : message.body;
      kept.push({
        id: message.message_id,
        contentType: message.content_type,
        durable: message.durable === true,
        body: Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body),
        annotations: Object.keys(message.message_annotations ?? {}).sort(),
        properties: Object.keys(message.application_properties ?? {}).sort(),
      });
      check();
    });
    receiver.once('receiver_open', () =>
      resolve({
        take: (count, timeoutMs = 60_000) =>
          new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`wire check: ${kept.length} of ${count} messages arrived within ${timeoutMs / 1000} s`)), timeoutMs);
            want = {
              count,
              resolve: (messages) => {
                clearTimeout(timer);
                done(messages);
              },
            };
            check();
          }),
        close: () =>
          new Promise((done) => {
            connection.once('connection_close', done);
            connection.close();
          }),
      }),
    );
    connection.on('disconnected', (context) => reject(new Error(`wire check subscriber: disconnected: ${context.error?.message ?? 'no reason'}`)));
  });
}

/** A body with its two timestamps' values blanked: what must be byte for byte equal between the sides. */
const untimed = (body) => body.replace(/"(receivedAt|publishedAt)":"[^"]*"/g, '"$1":""');

/**
 * Compares what two sides published: the same ids, and per id the same body (timestamps aside), content type and
 * durability. Returns a list of differences (empty when they agree) and the annotation and property names each used.
 */
export function compareWire(reference, other) {
  const problems = [];
  const byId = new Map(other.messages.map((message) => [message.id, message]));
  for (const mine of reference.messages) {
    const theirs = byId.get(mine.id);
    if (!theirs) {
      problems.push(`${other.side} published no message with id ${mine.id}`);
      continue;
    }
    byId.delete(mine.id);
    if (untimed(mine.body) !== untimed(theirs.body)) problems.push(`id ${mine.id}: bodies differ:\n  ${reference.side}: ${untimed(mine.body)}\n  ${other.side}: ${untimed(theirs.body)}`);
    if (mine.contentType !== theirs.contentType) problems.push(`id ${mine.id}: content type ${mine.contentType} vs ${theirs.contentType}`);
    if (mine.durable !== theirs.durable) problems.push(`id ${mine.id}: durable ${mine.durable} vs ${theirs.durable}`);
  }
  for (const id of byId.keys()) problems.push(`${other.side} published id ${id}, which ${reference.side} did not`);
  return problems;
}
