/**
 * Layers unpacked once into `<root>/layers/<diffID hex>/`, in overlayfs form:
 * AUFS-style whiteouts from the tar (`.wh.NAME`, `.wh..wh..opq`) become overlay
 * whiteouts (a 0/0 character device NAME) and opaque directories (xattr
 * `trusted.overlay.opaque=y`). The uncompressed stream is hashed on the way to
 * `tar`, so a layer whose diffID does not match is refused and removed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DigestMismatchError, ImageError } from './errors.ts';
import { layerCompression } from './media.ts';
import { digestHex } from './digest.ts';

/**
 * Directory of the unpacked layer with `diffId`. Throws InvalidDigestError unless
 * `diffId` is `sha256:<64 hex>`: this is where a digest becomes a path.
 */
export function layerDir(root: string, diffId: string): string {
  return join(root, 'layers', digestHex(diffId, 'layer diffID'));
}

/** True when layer `diffId` is unpacked: its folder exists and is a real directory (never a link). */
export function layerPresent(root: string, diffId: string): boolean {
  try { return lstatSync(layerDir(root, diffId)).isDirectory(); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; throw e; }
}

function decompressor(kind: 'gzip' | 'zstd' | 'none'): { stream: Transform | undefined; child?: ReturnType<typeof spawn> } {
  if (kind === 'gzip') return { stream: createGunzip() };
  if (kind === 'none') return { stream: undefined };
  const child = spawn('zstd', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const t = new Transform({ transform(c, _e, cb) { child.stdin!.write(c, () => cb()); }, flush(cb) { child.stdin!.end(); child.stdout!.once('end', () => cb()); } });
  child.stdout!.on('data', (d) => t.push(d));
  return { stream: t, child };
}

/**
 * Unpacks blob `blobPath` (media type `mediaType`) as layer `diffId` unless present.
 * Work happens in a temp dir renamed into place at the end.
 */
export async function unpackLayer(root: string, blobPath: string, mediaType: string, diffId: string): Promise<string> {
  const dest = layerDir(root, diffId);
  if (layerPresent(root, diffId)) return dest;
  const tmp = `${dest}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const hash = createHash('sha256');
    const tap = new Transform({ transform(c, _e, cb) { hash.update(c); cb(null, c); } });
    const tar = spawn('tar', ['-x', '-f', '-', '-C', tmp, '--numeric-owner', '--same-owner', '-p', '--xattrs', '--xattrs-include=*', '--no-overwrite-dir'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    tar.stderr!.on('data', (d) => (err += d));
    const done = new Promise<number | null>((r) => tar.on('close', r));
    const { stream } = decompressor(layerCompression(mediaType));
    const stages: (Readable | Transform | NodeJS.WritableStream)[] = [createReadStream(blobPath)];
    if (stream) stages.push(stream);
    stages.push(tap, tar.stdin!);
    await (pipeline as (...s: unknown[]) => Promise<void>)(...stages).catch((e: Error) => { if (!/EPIPE/.test(String(e))) throw e; });
    const code = await done;
    if (code !== 0) throw new ImageError(`images: unpacking layer ${diffId.slice(0, 19)} failed: ${err.trim()}`);
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== diffId) throw new DigestMismatchError(`layer ${diffId.slice(0, 19)} (diffID)`, diffId, actual);
    await convertWhiteouts(tmp);
    renameSync(tmp, dest);
    return dest;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Rewrites AUFS whiteouts under `dir` into overlayfs form. */
export async function convertWhiteouts(dir: string): Promise<void> {
  const devices: string[] = [];
  const opaque: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name === '.wh..wh..opq') { unlinkSync(p); opaque.push(d); }
      else if (e.name.startsWith('.wh.')) { rmSync(p, { recursive: true, force: true }); devices.push(join(d, e.name.slice(4))); }
      else if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  if (devices.length) {
    for (const p of devices) rmSync(p, { recursive: true, force: true });
    for (const p of devices) await run('mknod', [p, 'c', '0', '0']);
  }
  if (opaque.length) await setOpaque(opaque);
}

function run(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new ImageError(`images: ${cmd} failed: ${err.trim()}`))));
    if (input !== undefined) c.stdin!.end(input);
  });
}

/** setxattr(trusted.overlay.opaque=y) through perl's syscall (no attr tools on a minimal host). */
async function setOpaque(dirs: string[]): Promise<void> {
  const nr: Record<string, number> = { x64: 188, arm64: 5 };
  const n = nr[process.arch];
  if (n === undefined) throw new ImageError(`images: opaque directories unsupported on ${process.arch}`);
  const script = `while (my $d = <STDIN>) { chomp $d; my $k = "trusted.overlay.opaque"; my $v = "y"; syscall(${n}, $d, $k, $v, 1, 0) == 0 or die "setxattr $d: $!\\n"; }`;
  await run('perl', ['-e', script], dirs.join('\n') + '\n');
}
