// The netns maker (root, real kernel): a netns made by the Perl helper is a real named
// netns (`ip -n` acts in it, a veth moved there stays there, lo up when asked); a name
// taken or missing is refused with the reason; without perl, or once the helper died, the
// `ip` commands do the same job. Every netns this test makes starts with `shoalnm` and is
// deleted in `after`; the helpers are ours and end with `close` (their stdin).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsMaker } from './netns-maker.ts';
import { NetworkAgentError } from './plan.ts';
import { NetlinkRequestError, ipLine } from '../../../net/netlink/index.ts';
import { attachTask } from '../../../net/overlay/index.ts';

const P = `shoalnm${process.pid % 100000}`;
const t = suite('netns-maker');
const makers: NetnsMaker[] = [];
const ipCalls: string[][] = [];
const fallback = async (argv: string[]) => {
  ipCalls.push(argv);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
};
const maker = (opts: { perl?: string; script?: string } = {}) => {
  const m = new NetnsMaker({ fallback, ...opts });
  makers.push(m);
  return m;
};
const ip = (...argv: string[]) => spawnSync('ip', argv, { encoding: 'utf8' });
const ours = () => ip('netns', 'list').stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(P));

t.after(() => {
  for (const m of makers) m.close();
  for (const n of ours()) ip('netns', 'del', n);
  if (ours().length) throw new Error(`clean-up: ${ours().join(' ')} left`);
});

t('a netns made by the helper is a named netns, with lo up when asked', async () => {
  const m = maker();
  await Promise.all([m.add(`${P}-a`, { loUp: true }), m.add(`${P}-b`)]);
  assert.ok(m.helper, 'the helper did the job');
  assert.equal(ipCalls, []);
  const a = ip('-n', `${P}-a`, '-o', 'addr', 'show', 'lo');
  assert.match(a.stdout, /127\.0\.0\.1\/8/);
  assert.match(ip('-n', `${P}-a`, 'link', 'show', 'lo').stdout, /<LOOPBACK,UP,LOWER_UP>/);
  assert.not.match(ip('-n', `${P}-b`, 'link', 'show', 'lo').stdout, /[<,]UP[,>]/);
  // Two different namespaces, not this process's: a veth between them lives in both.
  const r = ip('-n', `${P}-a`, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1', 'netns', `${P}-b`);
  assert.is(r.status, 0, r.stderr);
  assert.is(ip('-n', `${P}-b`, 'link', 'show', 'x1').status, 0);
  assert.is(ip('link', 'show', 'x0').status, 1, 'nothing landed in our own netns');
  assert.is(ip('-n', `${P}-a`, 'link', 'show', 'x1').status, 1);
  await m.delete(`${P}-a`);
  await m.delete(`${P}-b`);
  assert.not.ok(existsSync(`/run/netns/${P}-a`));
  assert.equal(ours(), []);
});

t('a name taken or missing is refused with the reason; the helper goes on', async () => {
  const m = maker();
  await m.add(`${P}-c`);
  const err = await m.add(`${P}-c`).then(() => undefined, (e: Error) => e);
  assert.match(String(err?.message), new RegExp(`cannot make netns ${P}-c: cannot create namespace file .*File exists`));
  const gone = await m.delete(`${P}-nothere`).then(() => undefined, (e: Error) => e);
  assert.match(String(gone?.message), /cannot delete netns .*No such file/);
  const bad = await m.add('bad name').then(() => undefined, (e: Error) => e);
  assert.match(String(bad?.message), /invalid netns name "bad name"/);
  await m.delete(`${P}-c`);
  assert.ok(m.helper);
});

t('without perl, the ip commands make the same netns', async () => {
  ipCalls.length = 0;
  const m = maker({ perl: '/nonexistent/perl' });
  await m.add(`${P}-d`, { loUp: true });
  assert.not.ok(m.helper);
  assert.equal(ipCalls, [['ip', 'netns', 'add', `${P}-d`], ['ip', '-n', `${P}-d`, 'link', 'set', 'lo', 'up']]);
  assert.match(ip('-n', `${P}-d`, 'link', 'show', 'lo').stdout, /<LOOPBACK,UP,LOWER_UP>/);
  // A task's side of its veths: refused before anything is sent, so the agent uses `ip`.
  const nl = await m.rtnetlink(`${P}-d`, [ipLine('link set lo down')]).then(() => undefined, (e: Error) => e);
  assert.instance(nl, NetworkAgentError);
  assert.match(String(nl?.message), /the netns helper is not running: the netns helper ended/);
  assert.match(ip('-n', `${P}-d`, 'link', 'show', 'lo').stdout, /<LOOPBACK,UP,LOWER_UP>/, 'nothing sent');
  await m.delete(`${P}-d`);
  assert.equal(ours(), []);
});

t('rtnetlink in a netns: a task\'s veth side made as `ip` makes it; a refused line is named', async () => {
  const m = maker();
  const a = `${P}-g`, b = `${P}-h`;
  await Promise.all([m.add(a, { loUp: true }), m.add(b, { loUp: true })]);
  for (const ns of [a, b]) assert.is(ip('-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns === a ? a : b).status, 0);
  const lines = attachTask({ taskNetns: a, index: 0, ip: '10.77.0.9', prefixBits: 22, mtu: 1450 }).task.filter((l) => l !== 'link set lo up');
  await m.rtnetlink(a, lines.map(ipLine));
  const r = spawnSync('ip', ['-n', b, '-batch', '-'], { input: lines.join('\n') + '\n', encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  // The same device state both ways (indexes aside).
  const show = (ns: string) => ip('-n', ns, '-d', 'addr', 'show', 'eth0').stdout.replace(/^\d+: /, '').replace(/@if\d+/, '');
  assert.is(show(a), show(b));
  assert.match(show(a), /inet 10\.77\.0\.9\/22 scope global eth0/);
  assert.match(show(a), /[<,]UP[,>]/, "eth0 set up");
  assert.ok(m.helper);
  // The address again: refused, naming the line and the errno; nothing before it undone.
  const again = [ipLine('link set eth0 up'), ipLine('addr add 10.77.0.9/22 dev eth0')];
  const err = await m.rtnetlink(a, again).then(() => undefined, (e: NetlinkRequestError) => e);
  assert.instance(err, NetlinkRequestError);
  assert.is(err!.done, 1);
  assert.is(err!.code, 'EEXIST');
  assert.match(err!.message, new RegExp(`in netns ${a}: addr add 10.77.0.9/22 dev eth0: EEXIST`));
  // A device that is not there: ENODEV, before anything is sent.
  const nodev = await m.rtnetlink(a, [ipLine('addr add 10.77.0.10/22 dev eth9')]).then(() => undefined, (e: NetlinkRequestError) => e);
  assert.is(nodev?.code, 'ENODEV');
  // Our own netns untouched; the helper still answers.
  assert.is(ip('link', 'show', 'eth9').status, 1);
  await m.delete(a);
  await m.delete(b);
});

t('a helper that dies fails what it had in flight, then the ip commands take over', async () => {
  ipCalls.length = 0;
  // A "helper" that starts, reads nothing and ends unasked.
  const dir = mkdtempSync(join(tmpdir(), 'shoal-nm-'));
  try {
    writeFileSync(join(dir, 'dies.pl'), 'print STDERR "gone\\n"; exit 3;\n');
    const m = maker({ script: join(dir, 'dies.pl') });
    const err = await m.add(`${P}-e`).then(() => undefined, (e: Error) => e);
    assert.match(String(err?.message), new RegExp(`cannot make netns ${P}-e: the netns helper ended \\(exit 3\\): gone`));
    assert.not.ok(m.helper);
    assert.equal(ipCalls, []);
    await m.add(`${P}-f`);
    assert.equal(ipCalls, [['ip', 'netns', 'add', `${P}-f`]]);
    assert.ok(existsSync(`/run/netns/${P}-f`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t('an answer out of protocol ends the helper: what is in flight fails, never waits for ever', async () => {
  ipCalls.length = 0;
  // A "helper" that reads a request, answers a line of no protocol, then waits.
  const dir = mkdtempSync(join(tmpdir(), 'shoal-nm-'));
  try {
    writeFileSync(join(dir, 'garbles.pl'), '$| = 1; my $l = <STDIN>; print "garbage\\n"; 1 while <STDIN>;\n');
    const m = maker({ script: join(dir, 'garbles.pl') });
    const err = await m.add(`${P}-i`).then(() => undefined, (e: Error) => e);
    assert.match(String(err?.message), new RegExp(`cannot make netns ${P}-i: the netns helper ended \\(SIGTERM\\): an answer out of protocol: "garbage"`));
    assert.not.ok(m.helper);
    assert.equal(ipCalls, []);
    assert.not.ok(existsSync(`/run/netns/${P}-i`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
