// A node is a Docker engine for the tasks it runs (issue 23, items 1, 2 and 5): with the
// stock docker CLI against a one-host swarm, `ps` with each filter and --format,
// `inspect` with the overlay address, `logs` (tail, -f), `top`, `stats --no-stream` with
// non-zero memory, `exec` streaming binary output intact, with env/workdir/user and the
// exit code, `exec -it` in a real terminal (tmux) that resizes, and `kill` of a task
// container: the service replaces it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Task } from '../src/api/types/task.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { client, IMAGE, tasksOf, waitFor, waitRunning } from './lib/swarm-services.ts';
import { checkTerminalShell } from './lib/tmux.ts';

const SESSION = `shoalen-${process.pid}`;

/** Runs the docker CLI against h1; stdout as bytes. */
function dockerRaw(lab: Lab, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('docker', args, { env: { ...process.env, DOCKER_HOST: lab.dockerHost('h1') }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(out), stderr: err }); });
  });
}

async function docker(lab: Lab, args: string[]): Promise<string> {
  const r = await dockerRaw(lab, args);
  assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

const lines = (s: string) => s.split('\n').filter(Boolean);

async function psPhase(lab: Lab, name: string, task: Task): Promise<void> {
  const ps = (filter: string[]) => docker(lab, ['ps', '--no-trunc', ...filter.flatMap((f) => ['--filter', f]), '--format', '{{.Names}}']).then(lines);
  assert.equal(await ps([]), [name]);
  assert.equal(await ps([`id=${task.ID.slice(0, 6)}`]), [name]);
  assert.equal(await ps(['name=en.1.']), [name]);
  assert.equal(await ps(['label=com.docker.swarm.service.name=en']), [name]);
  assert.equal(await ps([`label=com.docker.swarm.task.id=${task.ID}`]), [name]);
  assert.equal(await ps(['status=running']), [name]);
  assert.equal(await ps([`ancestor=${IMAGE}`]), [name]);
  assert.equal(await ps(['network=ennet']), [name]);
  assert.equal(await ps(['volume=envol']), [name]);
  assert.equal(await ps(['volume=/data']), [name]);
  assert.equal(await ps(['volume=other']), []);
  assert.equal(await ps(['is-task=true']), [name]);
  assert.equal(lines(await docker(lab, ['ps', '-n', '1', '--format', '{{.Names}}'])), [name]);
  const size = await docker(lab, ['ps', '-s', '--format', '{{.Size}}']);
  assert.ok(/^\d+(\.\d+)?[kMG]?B \(virtual \d+(\.\d+)?[kMG]?B\)$/.test(size.trim()), `size column: ${size}`);
  assert.equal(await ps(['label=com.docker.swarm.service.name=nope']), []);
  assert.equal(await ps(['status=exited']), []);
  const bad = await dockerRaw(lab, ['ps', '--filter', 'publish=80']);
  assert.is.not(bad.code, 0, 'a filter shoal does not do is refused');
  assert.match(bad.stderr, /publish/);
  const row = await docker(lab, ['ps', '--format', '{{.ID}}|{{.Image}}|{{.Status}}|{{.Label "com.docker.swarm.service.name"}}|{{.Networks}}']);
  const [id, image, status, svc, nets] = row.trim().split('|');
  assert.is(id, task.ID.slice(0, 12));
  assert.is(image, IMAGE);
  assert.match(status, /^Up /);
  assert.is(svc, 'en');
  assert.is(nets, 'ennet');
}

async function inspectPhase(lab: Lab, name: string, task: Task): Promise<void> {
  const out = await docker(lab, ['inspect', name, '--format', '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.Config.Image}} {{(index .NetworkSettings.Networks "ennet").IPAddress}} {{.Name}}']);
  const addr = task.NetworksAttachments!.find((a) => a.Network.Spec.Name === 'ennet')!.Addresses[0].split('/')[0];
  assert.is(out.trim(), `running true 0 ${IMAGE} ${addr} /${name}`);
  const missing = await dockerRaw(lab, ['inspect', '--type', 'container', 'nosuchcontainer']);
  assert.is.not(missing.code, 0);
  assert.match(missing.stderr, /No such (container|object)/);
  const top = await docker(lab, ['top', name]);
  assert.match(top, /PID/);
  assert.match(top, /sleep|sh -c/);
  const topArgs = lines(await docker(lab, ['top', name, '-o', 'pid,args']));
  assert.equal(topArgs[0].trim().split(/\s+/), ['PID', 'COMMAND']);
  assert.ok(topArgs.slice(1).some((l) => /sh -c i=0/.test(l)), topArgs.join('\n'));
}

async function logsPhase(lab: Lab, name: string): Promise<void> {
  await waitFor('5 log lines', async () => lines(await docker(lab, ['logs', name])).length >= 5);
  // --tail counts lines of both streams together, as Docker's json-file reader does.
  const tail = await dockerRaw(lab, ['logs', '--tail', '4', name]);
  assert.is(lines(tail.stdout.toString()).length + lines(tail.stderr).length, 4);
  assert.ok(lines(tail.stdout.toString()).every((l) => /^line\d+$/.test(l)), tail.stdout.toString());
  const ts = lines(await docker(lab, ['logs', '--tail', '2', '--timestamps', name]));
  assert.match(ts[0], /^\d{4}-\d\d-\d\dT\S+Z line\d+$/);
  const err = await dockerRaw(lab, ['logs', '--tail', '2', name]);
  assert.match(err.stderr, /^err\d+$/m, 'stderr lines arrive on stderr');
  // -f: lines written after the call arrive.
  const child = spawn('docker', ['logs', '-f', '--tail', '0', name], { env: { ...process.env, DOCKER_HOST: lab.dockerHost('h1') }, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    let got = '';
    child.stdout.on('data', (d: Buffer) => { got += d.toString(); });
    await waitFor('3 followed lines', async () => lines(got).length >= 3, 20_000, 50);
    const nums = lines(got).map((l) => Number(l.replace('line', '')));
    assert.ok(nums[1] === nums[0] + 1 && nums[2] === nums[1] + 1, `consecutive: ${nums.join(',')}`);
  } finally {
    child.kill('SIGKILL');
  }
}

async function execPhase(lab: Lab, name: string): Promise<void> {
  await docker(lab, ['exec', name, 'sh', '-c', 'head -c 300000 /dev/urandom > /tmp/blob']);
  const sum = (await docker(lab, ['exec', name, 'sha256sum', '/tmp/blob'])).split(' ')[0];
  const cat = await dockerRaw(lab, ['exec', name, 'cat', '/tmp/blob']);
  assert.is(cat.code, 0, cat.stderr);
  assert.is(cat.stdout.length, 300000);
  assert.is(createHash('sha256').update(cat.stdout).digest('hex'), sum, 'binary output intact');
  const env = await docker(lab, ['exec', '-e', 'X=42', '-w', '/tmp', '-u', '1000:1000', name, 'sh', '-c', 'echo $X $(pwd) $(id -u) $(id -g); echo oops >&2']);
  assert.is(env.trim(), '42 /tmp 1000 1000');
  const code = await dockerRaw(lab, ['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.is(code.code, 3, 'exit code of the exec');
  assert.is(code.stdout.toString(), 'out\n');
  assert.is(code.stderr, 'err\n');
  // Stdin reaches the process (-i).
  const rev = await new Promise<string>((resolve) => {
    const c = spawn('docker', ['exec', '-i', name, 'sh', '-c', 'tr a-z A-Z'], { env: { ...process.env, DOCKER_HOST: lab.dockerHost('h1') } });
    let o = '';
    c.stdout.on('data', (d: Buffer) => { o += d; });
    c.on('close', () => resolve(o));
    c.stdin.end('hello shoal\n');
  });
  assert.is(rev, 'HELLO SHOAL\n');
  // The task's sandbox: CAP_NET_ADMIN is not among the default capabilities (unless privileged).
  const caps = await docker(lab, ['exec', name, 'sh', '-c', 'grep CapEff /proc/self/status']);
  const privCaps = await docker(lab, ['exec', '--privileged', name, 'sh', '-c', 'grep CapEff /proc/self/status']);
  assert.is.not(caps.trim(), privCaps.trim(), 'a privileged exec has more capabilities');
  assert.ok((BigInt('0x' + caps.trim().split(/\s+/)[1]) & (1n << 12n)) === 0n, 'no CAP_NET_ADMIN in a plain exec');
}

async function ttyPhase(lab: Lab, name: string): Promise<void> {
  await checkTerminalShell(SESSION, `env DOCKER_HOST=${lab.dockerHost('h1')} docker exec -it ${name} sh`);
}

test('the docker CLI lists, inspects, follows, enters, measures and kills task containers on their node', async () => {
  await withLab({ hosts: 1, prefix: 'shoalen' }, async (lab) => {
    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    await docker(lab, ['network', 'create', '--driver', 'overlay', 'ennet']);
    await docker(lab, ['service', 'create', '--detach', '--name', 'en', '--network', 'ennet', '--mount', 'type=volume,source=envol,target=/data', '--stop-grace-period', '1s', IMAGE,
      'sh', '-c', 'i=0; while true; do echo line$i; echo err$i >&2; i=$((i+1)); sleep 0.2; done']);
    const [task] = await waitRunning(lab, 'en', 1);
    const name = `en.1.${task.ID}`;

    await psPhase(lab, name, task);
    await inspectPhase(lab, name, task);
    await logsPhase(lab, name);
    await execPhase(lab, name);
    await ttyPhase(lab, name);

    const mem = await docker(lab, ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.CPUPerc}} {{.NetIO}} {{.BlockIO}}', name]);
    assert.match(mem, new RegExp(`^${name.replace(/\./g, '\\.')} `));
    assert.not.match(mem.split(' ')[1], /^0B/, `non-zero memory: ${mem}`);
    assert.match(mem, /%/);
    // Streamed: the CLI keeps redrawing from the daemon's stream of documents.
    const streamed = spawn('docker', ['stats', '--format', '{{.Name}} {{.MemUsage}}', name], { env: { ...process.env, DOCKER_HOST: lab.dockerHost('h1') }, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let got = '';
      streamed.stdout.on('data', (d: Buffer) => { got += d.toString(); });
      await waitFor('two streamed stats lines', async () => got.split(name).length - 1 >= 2, 20_000, 100);
    } finally {
      streamed.kill('SIGKILL');
    }

    // kill by hand: the agent reports the exit, the service replaces the task.
    await docker(lab, ['kill', name]);
    const replaced = await waitFor('a replacement task', async () => {
      const ts = await tasksOf(lab, 'en');
      const old = ts.find((t) => t.ID === task.ID);
      const fresh = ts.find((t) => t.ID !== task.ID && t.Status.State === 'running');
      return old && /non-zero exit \(137\)/.test(old.Status.Err ?? '') && fresh;
    }, 60_000);
    assert.equal(lines(await docker(lab, ['ps', '--format', '{{.Names}}'])), [`en.1.${replaced.ID}`]);
    assert.match(await docker(lab, ['ps', '-a', '--filter', 'exited=137', '--format', '{{.Names}} {{.Status}}']), new RegExp(`${task.ID} Exited \\(137\\)`));

    // restart: `docker wait` sees the exit (sh as PID 1 ignores SIGTERM: SIGKILL after -t 1), and the service starts a new task.
    const second = `en.1.${replaced.ID}`;
    const waiting = dockerRaw(lab, ['wait', second], 60_000);
    await docker(lab, ['restart', '-t', '1', second]);
    const waited = await waiting;
    assert.is(waited.code, 0, waited.stderr);
    assert.is(waited.stdout.toString().trim(), '137');
    const third = await waitFor('a task replacing the restarted one', async () => {
      const ts = await tasksOf(lab, 'en');
      return ts.find((t) => t.ID !== task.ID && t.ID !== replaced.ID && t.Status.State === 'running');
    }, 60_000);
    assert.equal(lines(await docker(lab, ['ps', '--format', '{{.Names}}'])), [`en.1.${third.ID}`]);
    // stop of a stopped container changes nothing (Docker's 304), and its logs are still there.
    await docker(lab, ['stop', second]);
    assert.ok(lines(await docker(lab, ['logs', '--tail', '2', second])).length >= 1);
  });
});

test.run();
