// Malicious images against a real node (one lab host, prefix shoalmi; root, runc):
// a config whose diff_id walks out of the layers folder (sha256:../../swarm), a layer
// with a `.wh..` whiteout, an image whose /etc/passwd is a FIFO and one whose
// /etc/passwd is a symlink out of the rootfs. Each is pushed to the lab registry and
// run as a service. The node stays healthy (/_ping answers, a good service keeps
// running and a new one starts), the traversal and whiteout images are refused with
// a clear error and never stored, the FIFO image runs as root (numeric IDs need no
// passwd) and fails clearly for a user name, and the symlinked passwd never resolves
// a user from the host's /etc/passwd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLab, type Lab } from '../../labs/lib/lab.ts';
import { runOk } from '../../labs/lib/procs.ts';
import { client, IMAGE, tasksOf, waitFor, waitRunning } from '../../labs/lib/swarm-services.ts';
import type { Task } from '../api/types/task.ts';
import { MT } from './media.ts';
import { rawTar, sha256Of, type RawTarEntry } from './testing-tar.ts';

const REPO = 'evil/img';
const REF = 'org.opencontainers.image.ref.name';
interface Layer { digest: string; diffId: string; mediaType: string; size: number }

/** Adds tag `tag` to the OCI layout at `dir`: the given layers, a config with `diffIds` (default theirs). */
function addImage(dir: string, tag: string, layers: Layer[], diffIds = layers.map((l) => l.diffId)): void {
  const blob = (b: Buffer) => { const d = sha256Of(b); writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b); return d; };
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sleep', '3600'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: blob(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  }));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
  index.manifests.push({ mediaType: MT.ociManifest, digest: blob(manifest), size: manifest.length, annotations: { [REF]: tag } });
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}

function tarLayer(dir: string, entries: RawTarEntry[]): Layer {
  const tar = rawTar(entries);
  const d = sha256Of(tar);
  writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), tar);
  return { digest: d, diffId: d, mediaType: MT.ociLayerTar, size: tar.length };
}

/** The lab's busybox layer, copied from its layout. */
function busyboxLayer(lab: Lab, dir: string): Layer {
  const src = lab.layoutDir!;
  const idx = JSON.parse(readFileSync(join(src, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const v1 = idx.manifests.find((m) => m.annotations?.[REF] === 'v1')!;
  const path = (d: string) => join(src, 'blobs', 'sha256', d.slice(7));
  const m = JSON.parse(readFileSync(path(v1.digest), 'utf8')) as { config: { digest: string }; layers: { digest: string; size: number; mediaType: string }[] };
  const cfg = JSON.parse(readFileSync(path(m.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] } };
  copyFileSync(path(m.layers[0].digest), join(dir, 'blobs', 'sha256', m.layers[0].digest.slice(7)));
  return { ...m.layers[0], diffId: cfg.rootfs.diff_ids[0] };
}

async function pushAll(lab: Lab, dir: string, tags: string[]): Promise<void> {
  const helper = fileURLToPath(new URL('../../labs/lib/push-main.ts', import.meta.url));
  await runOk('nsenter', [`--net=/run/netns/${lab.names.switchNetns}`, '--', process.execPath, '--import', 'tsx', helper, lab.registryAddress!, REPO, dir, tags.join(',')], { timeoutMs: 60_000 });
}

async function service(lab: Lab, name: string, image: string, user?: string): Promise<void> {
  await client(lab, 'h1').post('/services/create', {
    Name: name, Labels: {}, Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: { ContainerSpec: { Image: image, Command: ['sleep', '3600'], StopGracePeriod: 1e9, ...(user ? { User: user } : {}) } },
  });
}

/** The first task of `name` that ended with an error, once there is one. */
function failedTask(lab: Lab, name: string): Promise<Task> {
  return waitFor(`a failed task of ${name}`, async () => (await tasksOf(lab, name)).find((t) => ['rejected', 'failed'].includes(t.Status.State) && t.Status.Err), 90_000);
}

/** Waits for one running task of `name`; a timeout names the errors its tasks had. */
async function running(lab: Lab, name: string): Promise<void> {
  let last: Task[] = [];
  await waitFor(() => `a running task of ${name}: ${last.map((t) => `${t.Status.State} ${t.Status.Err ?? ''}`).join('; ')}`, async () => {
    last = await tasksOf(lab, name);
    return last.some((t) => t.Status.State === 'running');
  }, 90_000);
}

async function healthy(lab: Lab): Promise<void> {
  const r = await lab.request('h1', '/_ping');
  assert.is(r.status, 200, 'the daemon answers /_ping');
  const [t] = await waitRunning(lab, 'good', 1);
  assert.ok(t, 'the good service still runs');
}

test('malicious images are refused or contained; the node stays healthy', async () => {
  await withLab({ hosts: 1, prefix: 'shoalmi' }, async (lab) => {
    const dir = join(lab.names.baseDir, 'evil-layout');
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] }));
    const bb = busyboxLayer(lab, dir);
    const etc = (e: RawTarEntry) => tarLayer(dir, [{ path: 'etc', type: '5' }, e]);
    addImage(dir, 'diffid', [bb, etc({ path: 'etc/x', data: 'x' })], [bb.diffId, 'sha256:../../swarm']);
    addImage(dir, 'whiteout', [bb, tarLayer(dir, [{ path: 'www', type: '5' }, { path: 'www/.wh..' }])]);
    addImage(dir, 'fifo', [bb, etc({ path: 'etc/passwd', type: '6' })]);
    addImage(dir, 'symlink', [bb, etc({ path: 'etc/passwd', type: '2', linkname: '../../../../../../../../../../etc/passwd' })]);
    await pushAll(lab, dir, ['diffid', 'whiteout', 'fifo', 'symlink']);
    const img = (tag: string) => `${lab.registryAddress}/${REPO}:${tag}`;

    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: '192.168.100.11:2377', AdvertiseAddr: '192.168.100.11' }, { timeoutMs: 30_000 });
    await service(lab, 'good', IMAGE);
    await waitRunning(lab, 'good', 1);
    const dataRoot = join(lab.host('h1').hostDir, 'data');
    const before = readdirSync(dataRoot).sort();

    await service(lab, 'diffid', img('diffid'));
    const t1 = await failedTask(lab, 'diffid');
    assert.match(t1.Status.Err!, /invalid digest "sha256:\.\.\/\.\.\/swarm" for image config of .*: diff_ids\[1\]/);
    await healthy(lab);

    await service(lab, 'whiteout', img('whiteout'));
    const t2 = await failedTask(lab, 'whiteout');
    assert.match(t2.Status.Err!, /unsafe layer: whiteout "\.wh\.\." names no file of its directory/);
    await healthy(lab);
    assert.equal(readdirSync(dataRoot).sort(), before, 'nothing in the data root went away');
    const layers = readdirSync(join(dataRoot, 'images', 'layers'));
    // (a retried task may be unpacking a layer right now: its temp dir sits beside the layers)
    assert.ok(layers.length >= 1 && layers.every((l) => /^[a-f0-9]{64}(\.tmp-\d+-[a-z0-9]+)?$/.test(l)), `layers: ${layers.join(' ')}`);

    // The daemon never opens the FIFO; runc would (it reads /etc/passwd in the container
    // even for numeric IDs) and block for ever, so the task is refused with the reason.
    await service(lab, 'fifo-root', img('fifo'));
    const t3 = await failedTask(lab, 'fifo-root');
    assert.match(t3.Status.Err!, /\/etc\/passwd of the image is not a regular file \(a FIFO, device or socket\)/);
    await healthy(lab);

    await service(lab, 'symlink', img('symlink'), 'daemon'); // in the host's /etc/passwd, not the image's
    const t4 = await failedTask(lab, 'symlink');
    assert.match(t4.Status.Err!, /unable to find user daemon: .*\/etc\/passwd ignored: it is a symlink/);
    await service(lab, 'symlink-uid', img('symlink'), '1000:1000');
    await running(lab, 'symlink-uid');

    await healthy(lab);
    await service(lab, 'good2', IMAGE);
    await running(lab, 'good2');
    const listed = await h1.get<{ RepoTags: string[] }[]>('/images/json');
    const tags = listed.flatMap((i) => i.RepoTags ?? []);
    assert.not.ok(tags.some((t) => /evil\/img:(diffid|whiteout)/.test(t)), `refused images are not stored: ${tags.join(' ')}`);
    assert.ok(existsSync(join(dataRoot, 'images', 'layers')));
  });
});

test.run();
