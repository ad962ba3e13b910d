// A node's volumes with the stock docker CLI (issue 23, items 4 and 5): a service's
// volume mounts use the volumes `docker volume create` made (a plain one and a tmpfs
// one) and make the one that is missing, all listed by `docker volume ls`; `docker volume
// rm` of a volume a task uses is refused with Docker's message; `docker system df`
// counts them; once the service is gone they are removed, the tmpfs unmounted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { withLab, type Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { client, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';

async function dockerR(lab: Lab, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await run('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', ...args], { timeoutMs: 60_000 });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function docker(lab: Lab, args: string[]): Promise<string> {
  const r = await dockerR(lab, args);
  assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.err}`);
  return r.out;
}

const lines = (s: string) => s.split('\n').filter(Boolean);
/** Whether `path` is a mount point in the lab daemon's mount namespace. */
const mountedIn = (pid: number, path: string) => readFileSync(`/proc/${pid}/mounts`, 'utf8').split('\n').some((l) => l.split(' ')[1] === path);

test('service volume mounts are the volumes docker volume manages; in-use rm refused; system df', async () => {
  await withLab({ hosts: 1, prefix: 'shoalvo' }, async (lab) => {
    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    await docker(lab, ['volume', 'create', '--label', 'team=vo', 'vodata']);
    await docker(lab, ['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'votmp']);
    await docker(lab, ['service', 'create', '--detach', '--name', 'vo', '--stop-grace-period', '1s',
      '--mount', 'type=volume,source=vodata,target=/data', '--mount', 'type=volume,source=votmp,target=/scratch', '--mount', 'type=volume,source=voauto,target=/auto,volume-label=com.docker.stack.namespace=vost',
      '--mount', 'type=volume,source=vocopy,target=/usr', '--mount', 'type=volume,source=vonocopy,target=/root,volume-nocopy',
      IMAGE, 'sh', '-c', 'echo from-task > /data/f; trap "exit 0" TERM; while true; do sleep 0.2; done']);
    const [task] = await waitRunning(lab, 'vo', 1);
    const name = `vo.1.${task.ID}`;
    const cid = (await docker(lab, ['ps', '--no-trunc', '--format', '{{.ID}}'])).trim();

    // One object: the mount made voauto, and wrote through vodata's mount point.
    const all = ['voauto', 'vocopy', 'vodata', 'vonocopy', 'votmp'];
    assert.equal(lines(await docker(lab, ['volume', 'ls', '-q'])), all);
    assert.equal(lines(await docker(lab, ['volume', 'ls', '-q', '--filter', 'dangling=false'])), all);
    // Copy-up: a new volume gets the image's content at its target (links kept), unless volume-nocopy.
    const mp = async (v: string) => (await docker(lab, ['volume', 'inspect', '--format', '{{.Mountpoint}}', v])).trim();
    assert.is(readlinkSync(`${await mp('vocopy')}/bin/env`), '../../bin/busybox');
    assert.equal(readdirSync(await mp('vonocopy')), []);
    assert.is(statSync(await mp('vonocopy')).mode & 0o777, 0o755);
    assert.equal(lines(await docker(lab, ['volume', 'ls', '-q', '--filter', 'label=team=vo'])), ['vodata']);
    // The mount's volume labels went onto the volume it made.
    assert.equal(lines(await docker(lab, ['volume', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=vost'])), ['voauto']);
    const dataDir = (await docker(lab, ['volume', 'inspect', '--format', '{{.Mountpoint}}', 'vodata'])).trim();
    await waitFor('the task writes into its volume', async () => { try { return readFileSync(`${dataDir}/f`, 'utf8') === 'from-task\n'; } catch { return false; } }, 30_000);
    const pid = lab.daemonPid('h1')!;
    const mounted = (p: string) => mountedIn(pid, p);
    const tmpDir = (await docker(lab, ['volume', 'inspect', '--format', '{{.Mountpoint}}', 'votmp'])).trim();
    assert.ok(mounted(tmpDir), 'the tmpfs volume is mounted on its _data');
    assert.match(await docker(lab, ['exec', name, 'sh', '-c', 'grep " /scratch " /proc/mounts']), /^tmpfs \/scratch tmpfs .*size=2048k/);

    const busy = await dockerR(lab, ['volume', 'rm', 'vodata']);
    assert.is.not(busy.code, 0);
    assert.match(busy.err, new RegExp(`remove vodata: volume is in use - \\[${cid}\\]`));
    const pruned = await docker(lab, ['volume', 'prune', '-f']);
    assert.not.match(pruned, /vodata|votmp|voauto/);

    const df = await docker(lab, ['system', 'df']);
    assert.match(df, /Images\s+1\s+1\s/);
    assert.match(df, /Containers\s+1\s+1\s/);
    assert.match(df, /Local Volumes\s+5\s+5\s/);
    assert.match(df, /Build Cache\s+0\s+0\s/);
    assert.match(await docker(lab, ['system', 'df', '-v']), /vodata\s+1\s+10B/);

    await docker(lab, ['service', 'rm', 'vo']);
    await waitFor('the task container is removed', async () => (await docker(lab, ['ps', '-a', '-q'])).trim() === '', 60_000);
    await docker(lab, ['volume', 'rm', 'vodata', 'votmp', 'voauto', 'vocopy', 'vonocopy']);
    assert.not.ok(mounted(tmpDir), 'removing the tmpfs volume unmounted it');
    assert.equal(lines(await docker(lab, ['volume', 'ls', '-q'])), []);
  });
});

test.run();
