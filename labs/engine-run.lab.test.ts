// Standalone containers on a node (issue 23, item 3 and its tests in item 5), with the
// stock docker CLI against one lab host: `run --rm` with output and exit codes, the
// default bridge reaching the lab registry (NAT) and publishing a port (`-p`), `host` and
// `none`, `-i` input, create/start/ps/inspect/logs/exec/update/rename/stop/rm/prune, refusals of what
// shoal does not do, `run -it` in a real terminal (tmux), and nothing of it a task. At
// the end no bridge, nft table or veth of the default bridge is left on the host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { withLab, type Lab } from './lib/lab.ts';
import { docker as dockerOn, dockerRaw as dockerRawOn } from './lib/lab-docker.ts';
import { client, IMAGE, waitFor } from './lib/swarm-services.ts';
import { checkTerminalShell } from './lib/tmux.ts';
import { loadFacts, SchemaBook } from './test/docker-api-schema.ts';

const SESSION = `shoalrun-${process.pid}`;
const REGISTRY = '192.168.100.1:5000';

/** The docker CLI against h1 (the one host of this lab). */
const dockerRaw = (lab: Lab, args: string[], timeoutMs?: number, input?: string) => dockerRawOn(lab, 'h1', args, { timeoutMs, input });
const docker = (lab: Lab, args: string[]) => dockerOn(lab, 'h1', args);

const lines = (s: string) => s.split('\n').filter(Boolean);

/** No veth of the default bridge is left (the bridge itself stays a while for the next container). */
async function vethsGone(lab: Lab): Promise<boolean> {
  const links = await lab.exec('h1', ['ip', '-o', 'link', 'show']);
  return !/sbgw[0-9a-f]{8}/.test(links.stdout);
}

/** The host has no trace of the default bridge: no link, no veth, no table. */
async function bridgeGone(lab: Lab): Promise<boolean> {
  const links = await lab.exec('h1', ['ip', '-o', 'link', 'show']);
  const tables = await lab.exec('h1', ['nft', 'list', 'tables']);
  return !/shoal0|sbgw[0-9a-f]{8}/.test(links.stdout) && !/sbshoal-hostports/.test(tables.stdout);
}

async function runRmPhase(lab: Lab): Promise<void> {
  // The image is pulled on first use (create answers 404, the CLI pulls, creates again).
  assert.is((await docker(lab, ['run', '--rm', IMAGE, 'echo', 'hello'])), 'hello\n');
  const failed = await dockerRaw(lab, ['run', '--rm', IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.is(failed.code, 3, failed.stderr);
  assert.is(failed.stdout, 'out\n');
  assert.match(failed.stderr, /^err$/m);
  assert.equal(lines(await docker(lab, ['ps', '-a', '--format', '{{.Names}}'])), [], '--rm containers are gone');
  // -i without a terminal: the client's input is the process's stdin, its end the EOF.
  const piped = await dockerRaw(lab, ['run', '--rm', '-i', IMAGE, 'sh', '-c', 'cat; echo done'], 60_000, 'hello-stdin\nline2\n');
  assert.is(piped.code, 0, piped.stderr);
  assert.is(piped.stdout, 'hello-stdin\nline2\ndone\n');
  // Volumes: an anonymous one goes with --rm; a named one stays, with what was written; a
  // missing -v bind source is made (a --mount one is refused).
  // Under the lab's host dir, which the lab's teardown removes.
  const bind = `${lab.host('h1').hostDir}/bind`;
  assert.is(await docker(lab, ['run', '--rm', '-v', '/anon', '-v', 'runvol:/data', '-v', `${bind}:/b`, IMAGE, 'sh', '-c', 'echo kept > /data/f; echo bound > /b/f; ls -d /anon']), '/anon\n');
  assert.equal(lines(await docker(lab, ['volume', 'ls', '-q'])), ['runvol']);
  assert.is(await docker(lab, ['run', '--rm', '-v', 'runvol:/data', IMAGE, 'cat', '/data/f']), 'kept\n');
  assert.is((await lab.exec('h1', ['cat', `${bind}/f`])).stdout, 'bound\n');
  await docker(lab, ['volume', 'rm', 'runvol']);
  const noSrc = await dockerRaw(lab, ['run', '--rm', '--mount', `type=bind,source=${bind}-nosuch,target=/x`, IMAGE, 'true']);
  assert.is.not(noSrc.code, 0);
  assert.match(noSrc.stderr, /bind source path does not exist/);
  // The default bridge: an address on 172.17/16 and NAT out to the lab registry.
  const ip = await docker(lab, ['run', '--rm', IMAGE, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
  assert.match(ip, /inet 172\.17\.\d+\.\d+\/16/);
  const reg = await docker(lab, ['run', '--rm', IMAGE, 'timeout', '10', 'wget', '-q', '-O-', `http://${REGISTRY}/v2/`]);
  assert.is(reg.trim(), '{}');
  // host and none.
  const hostIp = await docker(lab, ['run', '--rm', '--network', 'host', IMAGE, 'ip', '-4', '-o', 'addr']);
  assert.ok(hostIp.includes(lab.address('h1')), hostIp);
  const none = await docker(lab, ['run', '--rm', '--network', 'none', IMAGE, 'ip', '-o', 'link']);
  assert.equal(lines(none).map((l) => l.split(':')[1].trim()), ['lo']);
  assert.ok(await vethsGone(lab), 'a container\'s veth goes with it');
}

async function lifecyclePhase(lab: Lab): Promise<void> {
  const id = (await docker(lab, ['run', '-d', '--name', 'web', '-p', '8080:80', '-l', 'tier=front', '--memory', '64m', '-e', 'A=1', IMAGE])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const row = await docker(lab, ['ps', '--format', '{{.ID}}|{{.Names}}|{{.Ports}}|{{.Label "tier"}}|{{.Status}}']);
  const [sid, name, ports, tier, status] = row.trim().split('|');
  assert.is(sid, id.slice(0, 12));
  assert.is(name, 'web');
  assert.match(ports, /0\.0\.0\.0:8080->80\/tcp/);
  assert.is(tier, 'front');
  assert.match(status, /^Up /);
  assert.equal(lines(await docker(lab, ['ps', '--filter', 'is-task=false', '--filter', 'network=bridge', '--format', '{{.Names}}'])), ['web']);
  assert.equal(lines(await docker(lab, ['ps', '--filter', 'is-task=true', '--format', '{{.Names}}'])), []);
  const ins = await docker(lab, ['inspect', 'web', '--format', '{{.Name}} {{.State.Status}} {{.NetworkSettings.IPAddress}} {{.HostConfig.Memory}} {{(index (index .HostConfig.PortBindings "80/tcp") 0).HostPort}} {{.HostConfig.NetworkMode}}']);
  assert.match(ins.trim(), /^\/web running 172\.17\.\d+\.\d+ 67108864 8080 default$/);
  // The published port answers on the node's address.
  const got = await lab.exec('h1', ['curl', '-s', '-m', '5', `http://${lab.address('h1')}:8080/VERSION`]);
  assert.is(got.stdout.trim(), 'v1');
  assert.is((await docker(lab, ['exec', 'web', 'sh', '-c', 'echo $A'])).trim(), '1');
  assert.match(await docker(lab, ['top', 'web']), /httpd/);
  const mem = await docker(lab, ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'web']);
  assert.match(mem, /^web \d/);
  // A second container may not take the same host port.
  const clash = await dockerRaw(lab, ['run', '-d', '--name', 'web2', '-p', '8080:80', IMAGE]);
  assert.is.not(clash.code, 0);
  assert.match(clash.stderr, /already allocated/);
  await docker(lab, ['rm', '-f', 'web2']);
  await docker(lab, ['update', '--memory', '96m', 'web']);
  assert.is((await docker(lab, ['inspect', 'web', '--format', '{{.HostConfig.Memory}}'])).trim(), String(96 * 1024 * 1024));
  await docker(lab, ['rename', 'web', 'web-renamed']);
  assert.equal(lines(await docker(lab, ['ps', '--format', '{{.Names}}'])), ['web-renamed']);
  const running = await dockerRaw(lab, ['rm', 'web-renamed']);
  assert.is.not(running.code, 0);
  assert.match(running.stderr, /cannot remove a running container/);
  await docker(lab, ['stop', '-t', '1', 'web-renamed']);
  assert.match(await docker(lab, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']), /^web-renamed Exited \(\d+\)/m);
  await docker(lab, ['rm', 'web-renamed']);

  // create, start, logs, wait; prune takes the stopped ones.
  await docker(lab, ['create', '--name', 'c1', IMAGE, 'sh', '-c', 'echo from-c1']);
  assert.match(await docker(lab, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']), /^c1 Created$/m);
  await docker(lab, ['start', 'c1']);
  assert.is((await docker(lab, ['wait', 'c1'])).trim(), '0');
  assert.is(await docker(lab, ['logs', 'c1']), 'from-c1\n');
  await docker(lab, ['create', '--name', 'c2', IMAGE, 'true']);
  const pruned = await docker(lab, ['container', 'prune', '-f']);
  assert.match(pruned, /Deleted Containers:/);
  assert.equal(lines(await docker(lab, ['ps', '-a', '--format', '{{.Names}}'])), []);
  await waitFor('the veths removed with their containers', () => vethsGone(lab), 10_000, 100);
}

/** The success bodies of the new endpoints against Docker's v1.41 schema (the conformance check has no image to run). */
async function schemaPhase(lab: Lab): Promise<void> {
  const book = new SchemaBook(loadFacts());
  const call = async (method: string, specPath: string, path: string, body?: unknown, status = 200): Promise<unknown> => {
    const res = await lab.request('h1', path, { method, ...(body === undefined ? {} : { body }) });
    assert.is(res.status, status, `${method} ${path}: ${res.body}`);
    const parsed = res.body ? JSON.parse(res.body) : undefined;
    // A null where the spec says array/object passes: Docker's Go nil slices and maps are
    // null on the wire too (inspect's HostConfig.CapAdd, Config.Volumes, …).
    const at = (ptr: string): unknown => ptr.split('/').slice(1).reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], parsed);
    const errs = book.check(method, specPath, status, parsed).filter((e) => !(e.keyword === 'type' && at(e.instancePath) === null));
    assert.equal(errs.map((e) => `${e.instancePath} ${e.message}`), [], `${method} ${specPath}`);
    return parsed;
  };
  const { Id } = (await call('POST', '/containers/create', '/containers/create?name=schema1', {
    Image: IMAGE, Cmd: ['sleep', '60'], Labels: { s: '1' }, ExposedPorts: { '80/tcp': {} },
    HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '' }] }, Tmpfs: { '/t': 'size=1m' }, Memory: 32 << 20 },
  }, 201)) as { Id: string };
  const started = await lab.request('h1', `/containers/${Id}/start`, { method: 'POST' });
  assert.is(started.status, 204, started.body);
  await call('GET', '/containers/json', '/containers/json?all=1');
  const ins = (await call('GET', '/containers/{id}/json', `/containers/${Id}/json`)) as { NetworkSettings: { Ports: Record<string, { HostPort: string }[]> } };
  assert.ok(Number(ins.NetworkSettings.Ports['80/tcp'][0].HostPort) >= 32768, 'an ephemeral host port');
  await call('POST', '/containers/{id}/update', `/containers/${Id}/update`, { Memory: 48 << 20 });
  const kill = await lab.request('h1', `/containers/${Id}/kill`, { method: 'POST' });
  assert.is(kill.status, 204, kill.body);
  assert.equal(await call('POST', '/containers/{id}/wait', `/containers/${Id}/wait`), { StatusCode: 137, Error: null });
  const pruned = (await call('POST', '/containers/prune', '/containers/prune')) as { ContainersDeleted: string[] };
  assert.equal(pruned.ContainersDeleted, [Id]);
}

/** A daemon restart keeps a running standalone container: listed by name, still published, then removable. */
async function restartPhase(lab: Lab): Promise<void> {
  await docker(lab, ['run', '-d', '--name', 'keep', '-p', '8081:80', IMAGE]);
  const pid = lab.daemonPid('h1')!;
  process.kill(pid, 'SIGTERM');
  await waitFor('the daemon stopped', async () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 30_000, 100);
  await lab.startDaemon('h1');
  assert.equal(lines(await docker(lab, ['ps', '--format', '{{.Names}} {{.Ports}}'])), ['keep 0.0.0.0:8081->80/tcp']);
  const got = await lab.exec('h1', ['curl', '-s', '-m', '5', `http://${lab.address('h1')}:8081/VERSION`]);
  assert.is(got.stdout.trim(), 'v1');
  await docker(lab, ['rm', '-f', 'keep']);
  await waitFor('the veth removed after the restart', () => vethsGone(lab), 10_000, 100);
}

/** Prints how long `docker run --rm IMAGE true` takes (median of 5; a figure, not an assertion). */
async function measureRunRm(lab: Lab): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await docker(lab, ['run', '--rm', IMAGE, 'true']);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`run --rm IMAGE true: median ${times[2].toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(' ')})`);
}

async function refusalsPhase(lab: Lab): Promise<void> {
  const restart = await dockerRaw(lab, ['run', '-d', '--restart', 'always', IMAGE]);
  assert.is.not(restart.code, 0);
  assert.match(restart.stderr, /RestartPolicy/);
  const dns = await dockerRaw(lab, ['run', '--rm', '--dns', '10.9.9.9', IMAGE, 'true']);
  assert.is.not(dns.code, 0);
  assert.match(dns.stderr, /Dns/);
  const net = await dockerRaw(lab, ['run', '--rm', '--network', 'nosuchnet', IMAGE, 'true']);
  assert.is.not(net.code, 0);
  assert.match(net.stderr, /nosuchnet/);
  assert.equal(lines(await docker(lab, ['ps', '-a', '--format', '{{.Names}}'])), [], 'a refused create leaves nothing');
}

async function ttyPhase(lab: Lab): Promise<void> {
  await checkTerminalShell(SESSION, `env DOCKER_HOST=${lab.dockerHost('h1')} docker run --rm -it --name tty1 ${IMAGE} sh`, { promptMs: 30_000 });
  await waitFor('the --rm terminal container removed', async () => lines(await docker(lab, ['ps', '-a', '--format', '{{.Names}}'])).length === 0, 10_000, 100);
  // A terminal's output is in the container's logs too (raw, as Docker keeps it).
  await docker(lab, ['run', '-t', '--name', 'ttylog', IMAGE, 'echo', 'tty-log']);
  assert.match(await docker(lab, ['logs', 'ttylog']), /tty-log\r?\n/);
  await docker(lab, ['rm', 'ttylog']);
}

/** `docker attach` to a running container gets what it writes from then on, and its exit code. */
async function attachPhase(lab: Lab): Promise<void> {
  await docker(lab, ['run', '-d', '--name', 'att', IMAGE, 'sh', '-c', 'echo early; while [ ! -e /tmp/go ]; do echo tick; sleep 0.2; done; echo late; exit 4']);
  await waitFor('the early line logged', async () => (await docker(lab, ['logs', 'att'])).startsWith('early\n'), 20_000, 100);
  const child = spawn('docker', ['attach', 'att'], { env: { ...process.env, DOCKER_HOST: lab.dockerHost('h1') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const code = new Promise<number | null>((r) => child.on('close', r));
  try {
    await waitFor('attached: ticks arrive', async () => out.includes('tick\n'), 20_000, 50);
    await docker(lab, ['exec', 'att', 'touch', '/tmp/go']);
    assert.is(await code, 4);
  } finally {
    child.kill('SIGKILL');
  }
  assert.ok(out.endsWith('tick\nlate\n') && !out.includes('early'), `attached output: ${out}`);
  await docker(lab, ['rm', 'att']);
}

test('the docker CLI runs standalone containers on bridge, host and none, never as tasks', async () => {
  await withLab({ hosts: 1, prefix: 'shoalrun' }, async (lab) => {
    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    try {
      await runRmPhase(lab);
      await lifecyclePhase(lab);
      await schemaPhase(lab);
      await restartPhase(lab);
      await measureRunRm(lab);
      await refusalsPhase(lab);
      await ttyPhase(lab);
      await attachPhase(lab);
      // Never a task: the manager knows none.
      assert.equal(await h1.get('/tasks'), []);
    } finally {
      const left = lines((await dockerRaw(lab, ['ps', '-aq'])).stdout);
      if (left.length) await dockerRaw(lab, ['rm', '-f', ...left]);
    }
    // The daemon's stop removes the idle bridge and its table.
    const pid = lab.daemonPid('h1')!;
    process.kill(pid, 'SIGTERM');
    await waitFor('the daemon stopped', async () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 30_000, 100);
    assert.ok(await bridgeGone(lab), 'no bridge, veth or table left');
  });
});

test.run();
