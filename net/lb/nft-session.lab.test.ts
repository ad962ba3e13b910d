// NftSession on real nftables (root): one `nft -i` in a netns made here serves many
// applies; a refused ruleset fails with nft's words and changes nothing; a netns deleted and
// made again under the same name gets a new session; maxApplies starts a new one; a session
// killed behind its back is started again; stop() ends nft until the next apply; a cap on
// running sessions stops the least recently used (session-cap.ts); an idle session
// does not keep its process running; a hung nft times out and is killed; close() leaves no
// process, so the netns goes; through the spawner helper (nft-spawner.pl) and without it.
// Every netns, file and process is removed in `after`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftSession } from './nft-session.ts';
import { NftError } from './errors.ts';
import { NftSpawner } from './nft-spawner.ts';
import { SessionCap } from './session-cap.ts';

const NS = `shoal-nfts${process.pid}`;
const TABLE = 'shoal-nfts-test';
const t = suite('nft-session');
const sessions: NftSession[] = [];
/** Sessions start through one spawner helper, as the agent's do; a test without it says so. */
const spawner = new NftSpawner();
const scratch = mkdtempSync(join(tmpdir(), 'shoal-nfts-test-'));

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const listTable = () => spawnSync('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'ip', TABLE], { encoding: 'utf8' });
/** The parent PID of a process (field 4 of /proc/PID/stat, after the command's parentheses). */
function readParent(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** True while `pid` runs and is not a zombie (no `kill -0` process per poll). */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
const table = (port: number) => `table ip ${TABLE}\ndelete table ip ${TABLE}\ntable ip ${TABLE} {\n  chain c {\n    tcp dport ${port} accept\n  }\n}\n`;

function session(o: ConstructorParameters<typeof NftSession>[0] = {}): NftSession {
  const s = new NftSession({ netns: NS, spawner, ...o });
  sessions.push(s);
  return s;
}

async function waitUntil(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.before(() => {
  sh(['ip', 'netns', 'add', NS]);
});

t.after(async () => {
  for (const s of sessions) await s.close().catch(() => {});
  spawner.close();
  spawnSync('ip', ['netns', 'del', NS]);
  rmSync(scratch, { recursive: true, force: true });
  assert.not.ok(sh(['ip', 'netns', 'list']).split('\n').some((l) => l.split(' ')[0] === NS), 'netns removed');
});

t('one nft -i serves many applies, each one transaction', async () => {
  const s = session();
  await s.apply(table(1));
  const pid = s.pid;
  assert.ok(alive(pid), 'the session runs');
  for (let port = 2; port <= 20; port++) await s.apply(table(port));
  assert.is(s.pid, pid, 'the same process applied all');
  assert.match(listTable().stdout, /tcp dport 20 accept/);
  assert.not.match(listTable().stdout, /tcp dport 19 accept/);
  await s.close();
  // Its end of the socket closes as it exits; the PID goes when the spawner reaps it.
  await waitUntil('close to end nft', () => !alive(pid));
  let err: unknown;
  await s.apply(table(1)).catch((e) => { err = e; });
  assert.match((err as Error)?.message ?? '', /is closed/, 'a closed session applies nothing');
});

t('a refused ruleset rejects with nft\'s words, changes nothing, and the session goes on', async () => {
  const s = session();
  await s.apply(table(80));
  const pid = s.pid;
  let err: unknown;
  await s.apply(`flush table ip ${TABLE}\nadd rule ip ${TABLE} c tcp dport 81 accept\nadd rule ip ${TABLE} nochain accept\n`).catch((e) => { err = e; });
  assert.instance(err, NftError);
  assert.match((err as Error).message, /Error: .*No such file or directory|Error: Could not process rule/);
  assert.match(listTable().stdout, /tcp dport 80 accept/, 'the table as before: the flush of the same transaction did not happen');
  assert.not.match(listTable().stdout, /dport 81/);
  await s.apply(table(82));
  assert.is(s.pid, pid, 'the same session');
  assert.match(listTable().stdout, /tcp dport 82 accept/);
  await s.close();
});

t('a netns made again under the same name gets a new session', async () => {
  const s = session();
  await s.apply(table(90));
  const first = s.pid;
  sh(['ip', 'netns', 'del', NS]);
  sh(['ip', 'netns', 'add', NS]);
  await s.apply(table(91));
  assert.is.not(s.pid, first, 'a new process');
  await waitUntil('the old session to end', () => !alive(first));
  assert.match(listTable().stdout, /tcp dport 91 accept/, 'applied in the new netns');
  sh(['ip', 'netns', 'del', NS]);
  let err: unknown;
  await s.apply(table(92)).catch((e) => { err = e; });
  assert.match((err as Error)?.message ?? '', /netns .* is gone/);
  sh(['ip', 'netns', 'add', NS]);
  await s.close();
});

t('a session is started again after maxApplies', async () => {
  const s = session({ maxApplies: 3 });
  await s.apply(table(100));
  const first = s.pid;
  await s.apply(table(101));
  await s.apply(table(102));
  assert.is(s.pid, first, 'three applies, one session');
  await s.apply(table(103));
  assert.ok(alive(s.pid) && s.pid !== first, 'the fourth in a new one');
  await waitUntil('the old session to end', () => !alive(first));
  assert.match(listTable().stdout, /tcp dport 103 accept/);
  await s.close();
});

t('a session killed behind its back is started again by the next apply', async () => {
  const s = session();
  await s.apply(table(110));
  const first = s.pid!;
  process.kill(first, 'SIGKILL');
  await waitUntil('the session to be seen dead', () => s.pid === undefined);
  await s.apply(table(111));
  assert.ok(alive(s.pid) && s.pid !== first);
  assert.match(listTable().stdout, /tcp dport 111 accept/);
  await s.close();
});

t('without a spawner, or when it cannot run, the session spawns nft itself', async () => {
  const plain = session({ spawner: undefined });
  await plain.apply(table(150));
  assert.match(listTable().stdout, /tcp dport 150 accept/);
  assert.is(readParent(plain.pid!), process.pid, 'a child of this process');
  await plain.close();
  const broken = new NftSpawner({ perl: '/nonexistent/perl' });
  assert.ok(broken.working, 'working until it fails');
  const s = session({ spawner: broken });
  await s.apply(table(151));
  assert.not.ok(broken.working, 'not working once its helper could not start');
  assert.match(listTable().stdout, /tcp dport 151 accept/);
  assert.is(readParent(s.pid!), process.pid, 'spawned here after the spawner failed');
  await s.close();
  broken.close();
});

t('through the spawner nft is the helper\'s child; it kills only its own children', async () => {
  const s = session();
  await s.apply(table(160));
  assert.is(readParent(s.pid!), spawner.pid, 'a child of the spawner');
  assert.ok(spawner.working);
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    spawner.kill(other.pid!);
    // The spawner answers in order: once a later start is answered, the kill line was handled.
    const probe = await spawner.start(NS);
    probe.socket.destroy();
    assert.ok(alive(other.pid), 'a process that is not its child lives on');
    let err: unknown;
    await spawner.start('shoal-no-such-netns').catch((e) => { err = e; });
    assert.match((err as Error)?.message ?? '', /netns shoal-no-such-netns/);
  } finally {
    other.kill('SIGKILL');
  }
  await s.close();
});

t('with a cap of 2, the least recently used of 3 sessions is stopped and starts again at its next apply', async () => {
  const cap = new SessionCap(2);
  const [a, b, c] = [0, 1, 2].map(() => session({ cap }));
  await a.apply(table(170));
  await b.apply(table(171));
  const aPid = a.pid!;
  await c.apply(table(172));
  await waitUntil('the cap to stop a\'s nft', () => !alive(aPid));
  assert.is(a.pid, undefined, 'a has no nft running');
  assert.ok(alive(b.pid) && alive(c.pid), 'b and c run');
  assert.match(listTable().stdout, /tcp dport 172 accept/, 'c applied');
  const bPid = b.pid!;
  await a.apply(table(173));
  assert.match(listTable().stdout, /tcp dport 173 accept/, 'a applies again, through a new nft');
  assert.ok(alive(a.pid) && a.pid !== aPid);
  await waitUntil('the cap to stop b, now the least recent', () => !alive(bPid));
  assert.is(cap.size, 2);
  for (const s of [a, b, c]) await s.close();
  assert.is(cap.size, 0, 'closed sessions are not counted');
});

t('stop ends the running nft; the next apply starts another', async () => {
  const s = session();
  await s.apply(table(130));
  const first = s.pid;
  await s.stop();
  await waitUntil('stop to end nft', () => !alive(first));
  assert.is(s.pid, undefined);
  await s.apply(table(131));
  assert.ok(alive(s.pid) && s.pid !== first);
  await s.close();
});

t('an idle session does not keep its process running', async () => {
  // A child that applies once and then has nothing left to do must exit at once: the session holds no handle while idle.
  const code = `import { NftSession } from ${JSON.stringify(new URL('./nft-session.ts', import.meta.url).href)};
    import { NftSpawner } from ${JSON.stringify(new URL('./nft-spawner.ts', import.meta.url).href)};
    const s = new NftSession({ netns: ${JSON.stringify(NS)}, spawner: new NftSpawner() });
    await s.apply(${JSON.stringify(table(140))});
    console.log('applied', s.pid);`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  const pid = Number(/applied (\d+)/.exec(r.stdout)?.[1]);
  assert.ok(pid > 0, r.stdout);
  assert.ok(Date.now() - started < 20_000, 'it exited while its session still ran');
  await waitUntil('its nft to end at EOF', () => !alive(pid));
  assert.match(listTable().stdout, /tcp dport 140 accept/);
});

t('an nft that never answers times out and is killed', async () => {
  const fake = join(scratch, 'silent-nft');
  writeFileSync(fake, '#!/bin/sh\nexec sleep 600\n');
  chmodSync(fake, 0o755);
  const s = session({ nft: fake, timeoutMs: 300 });
  let err: unknown;
  const started = Date.now();
  await s.apply(table(120)).catch((e) => { err = e; });
  assert.instance(err, NftError);
  assert.match((err as Error).message, /no answer after 300 ms/);
  assert.ok(Date.now() - started < 5000, 'it gave up');
  assert.is(s.pid, undefined, 'nothing left running');
  // Killed, not only let go of: no `sleep` (the fake nft) is left among the spawner's children.
  const fakeLeft = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' && readParent(Number(pid)) === spawner.pid; } catch { return false; }
  });
  await waitUntil('the silent nft to be killed', () => fakeLeft().length === 0);
  await s.close();
});

t.run();
