import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string): string => join(root, 'node_modules/.bin', name);

/** Runs a command from the repository root; resolves with its output whatever the exit code. */
async function check(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failure.code === 'number' ? failure.code : 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

test('TypeScript: the contract, worker, server, page and every test type-check (strict)', { timeout: 180_000 }, async () => {
  const build = await check(bin('tsc'), ['-b']);
  expect(build.output).toBe('');
  const page = await check(bin('tsc'), ['-p', 'web', '--noEmit']);
  expect(page.output).toBe('');
  // The tests and their helpers and fake servers, which the builds leave out.
  const tests = await check(bin('tsc'), ['-p', 'tsconfig.tests.json']);
  expect(tests.output).toBe('');
});

test('ESLint finds nothing', { timeout: 180_000 }, async () => {
  const lint = await check(bin('eslint'), ['.']);
  expect(lint.output.trim()).toBe('');
  expect(lint.code).toBe(0);
});

/**
 * The XML schemas of the very Artemis release livewall runs, taken from its distribution (which `scripts/broker home`
 * fetches once from Maven Central): `artemis-server.xsd` and what it imports ship inside the server's jars.
 */
async function artemisSchema(): Promise<string> {
  const home = await check(join(root, 'scripts/broker'), ['home']);
  expect(home.code, home.output).toBe(0);
  const artemisHome = home.output.trim().split('\n').at(-1) ?? '';
  const version = /apache-artemis-([^/]+)$/.exec(artemisHome)?.[1];
  expect(version, `scripts/broker home printed ${artemisHome}`).toBeTruthy();
  const dir = await mkdtemp(join(tmpdir(), 'livewall-xsd-'));
  for (const jar of [`artemis-server-${version}.jar`, `artemis-jms-server-${version}.jar`]) {
    // jar comes with the JDK that builds the broker's guard plugin (scripts/setup).
    await run('jar', ['xf', join(artemisHome, 'lib', jar), 'schema/'], { cwd: dir });
  }
  return join(dir, 'schema/artemis-server.xsd');
}

test('activemq/broker.xml, the HA pair and the edge tier are valid against the schema of the Artemis release livewall runs', { timeout: 300_000 }, async () => {
  const schema = await artemisSchema();
  try {
    for (const file of ['activemq/broker.xml', 'activemq/ha/broker-primary.xml', 'activemq/ha/broker-backup.xml', 'activemq/edge/core.xml', 'activemq/edge/core-primary.xml', 'activemq/edge/core-backup.xml', 'activemq/edge/broker.xml']) {
      const lint = await check('xmllint', ['--noout', '--nonet', '--schema', schema, file]);
      expect(lint.output.trim()).toBe(`${file} validates`);
      expect(lint.code).toBe(0);
    }
    // The check can fail: an element Artemis does not know is refused.
    const broken = (await readFile(join(root, 'activemq/broker.xml'), 'utf8')).replace('<persistence-enabled>', '<persistence-enabeld>');
    const dir = await mkdtemp(join(tmpdir(), 'livewall-broken-'));
    await writeFile(join(dir, 'broker.xml'), broken);
    const refused = await check('xmllint', ['--noout', '--nonet', '--schema', schema, join(dir, 'broker.xml')]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('persistence-enabeld');
    await rm(dir, { recursive: true });
  } finally {
    await rm(join(schema, '../..'), { recursive: true, force: true });
  }
});

test('the HA pair offers clients what broker.xml does: the same acceptors, addresses, security and storage', async () => {
  /** Everything in <core> but what only a pair has, without comments or layout. */
  const clientFacing = async (file: string): Promise<string> => {
    const pairOnly = ['name', 'connectors', 'cluster-user', 'cluster-password', 'cluster-connections', 'ha-policy'];
    const xpath = `//*[local-name()='core']/*[${pairOnly.map((name) => `local-name()!='${name}'`).join(' and ')}]`;
    const { code, output } = await check('xmllint', ['--nonet', '--xpath', xpath, file]);
    expect(code, output).toBe(0);
    return output
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<acceptor name="cluster">[^<]*<\/acceptor>/, '')
      .replace(/\s+/g, ' ')
      .replace(/> </g, '><');
  };
  const single = await clientFacing('activemq/broker.xml');
  expect(single).toContain('<acceptor name="amqp">');
  for (const file of ['activemq/ha/broker-primary.xml', 'activemq/ha/broker-backup.xml']) {
    expect(await clientFacing(file), `${file} differs from activemq/broker.xml outside the pair's own settings`).toBe(single);
    // The cluster password comes from the broker's environment, never from the file.
    expect(await readFile(join(root, file), 'utf8')).toContain('<cluster-password>${LIVEWALL_CLUSTER_PASSWORD}</cluster-password>');
  }
  // The edge tier's core as a pair: core.xml plus exactly what the HA pair adds to broker.xml.
  const pairPart = "//*[local-name()='core']/*[local-name()='connectors' or local-name()='cluster-user' or local-name()='cluster-password' or local-name()='cluster-connections' or local-name()='ha-policy'] | //*[local-name()='acceptor'][@name='cluster']";
  const core = await clientFacing('activemq/edge/core.xml');
  expect(core).toContain('<broker-connections>');
  for (const role of ['primary', 'backup']) {
    const file = `activemq/edge/core-${role}.xml`;
    expect(await clientFacing(file), `${file} differs from activemq/edge/core.xml outside the pair's own settings`).toBe(core);
    expect(await xmlPart(file, pairPart), `${file}: the pair's settings differ from activemq/ha/broker-${role}.xml's`).toBe(await xmlPart(`activemq/ha/broker-${role}.xml`, pairPart));
  }
});

/** The elements of FILE that XPATH selects, without comments or layout. */
async function xmlPart(file: string, xpath: string): Promise<string> {
  const { code, output } = await check('xmllint', ['--nonet', '--xpath', xpath, file]);
  expect(code, `${file}: ${xpath}: ${output}`).toBe(0);
  return output
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\s+/g, ' ')
    .replace(/> </g, '><')
    .trim();
}

test("the edge tier's core is broker.xml without the public acceptor, plus one broker connection per edge", async () => {
  const core = "//*[local-name()='core']/*[local-name()!='name' and local-name()!='broker-connections']";
  // The core has no public acceptor, so its guard guards none (and keeps its rules for moderators).
  const single = (await xmlPart('activemq/broker.xml', core))
    .replace(/<acceptor name="stomp-ws">[^<]*<\/acceptor>/, '')
    .replace('<property key="acceptors" value="stomp-ws"/>', '<property key="acceptors" value=""/>')
    // Each edge's queue on the core is auto-created and must outlive a restart of the core with its acknowledgements.
    .replace(/(<address-setting match="(?:feed|status)\.#">(?:(?!<\/address-setting>).)*)<auto-delete-queues>true</g, '$1<auto-delete-queues>false<');
  expect(single).toContain('<acceptor name="amqp">');
  for (const match of ['feed', 'status']) expect(single).toMatch(new RegExp(`<address-setting match="${match}\\.#">(?:(?!</address-setting>).)*<auto-delete-queues>false<`));
  expect(await xmlPart('activemq/edge/core.xml', core)).toBe(single);
  const connections = await xmlPart('activemq/edge/core.xml', "//*[local-name()='amqp-connection']");
  // Each edge: the edge user, its password from the environment, every feed and status address pushed durably, but
  // not the retroactive rings' internal addresses (an edge refuses them, and the core would reconnect for ever).
  expect(connections.match(/<amqp-connection /g)).toHaveLength(2);
  expect(connections.match(/user="edge" password="\$\{LIVEWALL_EDGE_PASSWORD\}"/g)).toHaveLength(2);
  expect(connections.match(/<bridge-to-address [^>]*use-durable-subscriptions="true"><include address-match="feed.#"\/><include address-match="status.#"\/><exclude address-match="\$\.artemis\.internal\.#"\/><\/bridge-to-address>/g)).toHaveLength(2);
});

test('an edge offers viewers what broker.xml does: the same public acceptor, guard and feed and status settings', async () => {
  const same = [
    "//*[local-name()='acceptor'][@name='stomp-ws']",
    "//*[local-name()='broker-plugins']",
    "//*[local-name()='wildcard-addresses']",
    "//*[local-name()='address-setting'][@match='feed.#' or @match='status.#']",
    "//*[local-name()='security-enabled']",
  ];
  for (const xpath of same) expect(await xmlPart('activemq/edge/broker.xml', xpath), xpath).toBe(await xmlPart('activemq/broker.xml', xpath));
  // Its only other acceptor is the core's: AMQP, where no role but edge (and admin) may send or create anything.
  const acceptors = await xmlPart('activemq/edge/broker.xml', "//*[local-name()='acceptor']/@name");
  expect(acceptors).toBe('name="stomp-ws" name="tier"');
  const grants = await xmlPart('activemq/edge/broker.xml', "//*[local-name()='permission'][@type='send' or @type='createAddress' or @type='createDurableQueue']/@roles");
  expect(new Set(grants.split(' ').flatMap((roles) => roles.replace(/^roles="|"$/g, '').split(',')))).toEqual(new Set(['admin', 'edge', 'viewer']));
  const sends = await xmlPart('activemq/edge/broker.xml', "//*[local-name()='permission'][@type='send']/@roles");
  expect(sends).not.toContain('viewer');
  expect(sends).not.toContain('publisher');
});

test('docker-compose.yml is a valid compose file', async () => {
  const env = { ...process.env, LIVEWALL_ADMIN_PASSWORD: 'a', LIVEWALL_PUBLISHER_PASSWORD: 'p', LIVEWALL_VIEWER_PASSWORD: 'v' };
  const compose = await check('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], env);
  expect(compose.output.trim()).toBe('');
  expect(compose.code).toBe(0);
});

test('write-users.sh escapes any password for the broker and keeps it for scripts, readable by the owner only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livewall-users-'));
  try {
    const tricky = `a=b:c#d!e'f\\g h`;
    const secrets = join(dir, 'livewall.env');
    const env = { PATH: process.env.PATH, LIVEWALL_ADMIN_PASSWORD: tricky };
    await run('sh', [join(root, 'activemq/write-users.sh'), dir, secrets], { env });
    const users = await readFile(join(dir, 'artemis-users.properties'), 'utf8');
    expect(users).toContain(`admin = a\\=b\\:c\\#d\\!e'f\\\\g h\n`);
    // Generated passwords: long, URL-safe, different per user.
    const generated = [...users.matchAll(/^(publisher|viewer) = ([A-Za-z0-9_-]{32})$/gm)].map((match) => match[2]);
    expect(generated).toHaveLength(2);
    expect(generated[0]).not.toBe(generated[1]);
    // The secrets file gives back exactly the same values to a shell, and a second run keeps them.
    const read = async (): Promise<string> => (await run('sh', ['-c', `. "${secrets}"; printf '%s|%s' "$LIVEWALL_ADMIN_PASSWORD" "$LIVEWALL_VIEWER_PASSWORD"`])).stdout;
    const first = await read();
    expect(first).toBe(`${tricky}|${generated[1]}`);
    await run('sh', [join(root, 'activemq/write-users.sh'), dir, secrets], { env: { PATH: process.env.PATH } });
    expect(await read()).toBe(first);
    // A password the environment gives wins over the kept one (an operator changing it), and is kept in turn.
    await run('sh', [join(root, 'activemq/write-users.sh'), dir, secrets], { env: { PATH: process.env.PATH, LIVEWALL_VIEWER_PASSWORD: 'changed' } });
    expect(await read()).toBe(`${tricky}|changed`);
    expect(await readFile(join(dir, 'artemis-users.properties'), 'utf8')).toContain('viewer = changed\n');
    expect((await stat(secrets)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'artemis-users.properties'))).mode & 0o777).toBe(0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
