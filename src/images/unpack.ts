/**
 * Layers unpacked once into `<root>/layers/<diffID hex>/`, in overlayfs form:
 * AUFS-style whiteouts from the tar (`.wh.NAME`, `.wh..wh..opq`) become overlay
 * whiteouts (a 0/0 character device NAME) and opaque directories (xattr
 * `trusted.overlay.opaque=y`).
 *
 * The uncompressed stream passes a guard on its way to GNU `tar`: it hashes it (a
 * layer whose diffID does not match is refused and removed), counts it (at most
 * `maxBytes`, so a small blob cannot unpack into a full disk), and checks every
 * entry's header with LayerChecker before the header reaches `tar`, so an entry
 * that would leave the layer folder is never extracted: the layer is refused whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DigestMismatchError, ImageError } from './errors.ts';
import { layerCompression } from './media.ts';
import { digestHex } from './digest.ts';
import { TarReader } from './tar-reader.ts';
import { ALLOWED_XATTRS, LayerChecker, UnsafeLayerError, whiteoutTarget } from './layer-check.ts';

/** Default cap on the uncompressed bytes of one layer: 64 GiB. */
export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 ** 3;

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

/** A layer blob to unpack. */
export interface LayerBlob {
  /** Path of the (possibly compressed) blob. */
  blob: string;
  mediaType: string;
  /** sha256 of the uncompressed tar. */
  diffId: string;
}

/** Options of unpackLayer. */
export interface UnpackOptions {
  /** Most uncompressed bytes the layer may have; default DEFAULT_MAX_LAYER_BYTES. */
  maxBytes?: number;
}

function decompressor(kind: 'gzip' | 'zstd' | 'none'): { stream: Transform | undefined; child?: ChildProcess } {
  if (kind === 'gzip') return { stream: createGunzip() };
  if (kind === 'none') return { stream: undefined };
  const child = spawn('zstd', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin!.on('error', () => {});
  const t = new Transform({ transform(c, _e, cb) { child.stdin!.write(c, () => cb()); }, flush(cb) { child.stdin!.end(); child.stdout!.once('end', () => cb()); } });
  child.stdout!.on('data', (d) => t.push(d));
  return { stream: t, child };
}

/** The guard between the decompressor and `tar`: hash, count, check headers. */
function guard(diffId: string, maxBytes: number): { stream: Transform; digest: () => string } {
  const hash = createHash('sha256');
  const reader = new TarReader();
  const checker = new LayerChecker();
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _e, cb) {
      try {
        n += chunk.length;
        if (n > maxBytes) throw new ImageError(`images: layer ${diffId.slice(0, 19)} unpacks to more than ${maxBytes} bytes`);
        hash.update(chunk);
        for (const ev of reader.push(chunk)) {
          if (ev.kind === 'entry') checker.check(ev.entry);
          this.push(ev.raw);
        }
        cb();
      } catch (e) { cb(e as Error); }
    },
    flush(cb) {
      try { reader.end(); cb(); } catch (e) { cb(e as Error); }
    },
  });
  return { stream, digest: () => `sha256:${hash.digest('hex')}` };
}

/**
 * Unpacks `layer` into its layer dir unless present; returns the dir. Work happens
 * in a temp dir renamed into place at the end. Throws UnsafeLayerError, TarFormatError,
 * DigestMismatchError or ImageError; on any throw nothing of the layer is left.
 */
export async function unpackLayer(root: string, layer: LayerBlob, opts: UnpackOptions = {}): Promise<string> {
  const { diffId } = layer;
  const dest = layerDir(root, diffId);
  if (layerPresent(root, diffId)) return dest;
  const tmp = `${dest}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(tmp, { recursive: true });
  let child: ChildProcess | undefined;
  let tar: ChildProcess | undefined;
  try {
    const g = guard(diffId, opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES);
    const include = ALLOWED_XATTRS.map((x) => `--xattrs-include=${x}`);
    tar = spawn('tar', ['-x', '-f', '-', '-C', tmp, '--numeric-owner', '--same-owner', '-p', '--xattrs', ...include, '--no-overwrite-dir'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    tar.stderr!.on('data', (d) => (err += d));
    const done = new Promise<number | null>((r) => tar!.on('close', r));
    const dec = decompressor(layerCompression(layer.mediaType));
    child = dec.child;
    const stages: (Readable | Transform | NodeJS.WritableStream)[] = [createReadStream(layer.blob)];
    if (dec.stream) stages.push(dec.stream);
    stages.push(g.stream, tar.stdin!);
    let failed: unknown;
    await (pipeline as (...s: unknown[]) => Promise<void>)(...stages).catch((e: Error) => { if (!/EPIPE/.test(String(e))) failed = e; });
    if (failed) { tar.kill('SIGKILL'); await done; throw failed; }
    const code = await done;
    if (code !== 0) throw new ImageError(`images: unpacking layer ${diffId.slice(0, 19)} failed: ${err.trim()}`);
    const actual = g.digest();
    if (actual !== diffId) throw new DigestMismatchError(`layer ${diffId.slice(0, 19)} (diffID)`, diffId, actual);
    await convertWhiteouts(tmp);
    renameSync(tmp, dest);
    return dest;
  } finally {
    child?.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Rewrites AUFS whiteouts under `dir` into overlayfs form. Never follows a link and
 * never touches a path outside `dir`: a whiteout naming `''`, `.` or `..` throws
 * UnsafeLayerError (the tar check refuses those first; this is the second lock).
 */
export async function convertWhiteouts(dir: string): Promise<void> {
  const devices: string[] = [];
  const opaque: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const target = whiteoutTarget(e.name);
      if (e.name === '.wh..wh..opq') { unlinkSync(p); opaque.push(d); }
      else if (target === null) rmSync(p, { recursive: true, force: true }); // AUFS metadata
      else if (target !== undefined) {
        const victim = join(d, target);
        const rel = relative(dir, victim);
        if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel)) throw new UnsafeLayerError(`whiteout ${JSON.stringify(e.name)} leaves the layer`);
        rmSync(p, { recursive: true, force: true });
        devices.push(victim);
      } else if (e.isDirectory()) walk(p);
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
