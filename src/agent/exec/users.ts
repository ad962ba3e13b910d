/**
 * Users and groups of an image, as Docker resolves `--user`: `name`, `uid`,
 * `name:group`, `uid:gid` (and any mix), from the image's own `/etc/passwd` and
 * `/etc/group`.
 *
 * The daemon reads those files from the task's rootfs on its own thread, so the
 * read must never block and never leave the rootfs: every component is opened
 * without following links (O_NOFOLLOW, one directory at a time through
 * `/proc/self/fd/N`, as openat would), the file must be regular and at most
 * `maxBytes`, and it is opened O_NONBLOCK. A link, FIFO, device, directory or oversize
 * file counts as absent: numeric IDs still work, a name fails with a clear error
 * that says why the file was ignored.
 *
 *   const files = readUserFiles(rootfs);
 *   const user = resolveUser('app:wheel', files);   // { uid, gid, additionalGids }
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { SpecError } from './spec-error.ts';

/** A resolved process identity. */
export interface ResolvedUser { uid: number; gid: number; additionalGids: number[] }

/**
 * The two files, each undefined when absent or ignored; `problems` says why one was
 * ignored; `blocking` names those that are FIFOs, devices or sockets.
 */
export interface UserFiles { passwd?: string; group?: string; problems?: string[]; blocking?: string[] }

/** Largest passwd or group file read, bytes (1 MiB). */
export const MAX_USER_FILE_BYTES = 1 << 20;

const MAX_ID = 0xfffffffe;

function parseId(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

/** passwd lines as [name, uid, gid]; malformed lines are skipped. Pure. */
export function parsePasswd(text: string): { name: string; uid: number; gid: number }[] {
  const out: { name: string; uid: number; gid: number }[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const uid = parseId(f[2]); const gid = parseId(f[3]);
    if (f.length >= 4 && f[0] && uid !== undefined && gid !== undefined) out.push({ name: f[0], uid, gid });
  }
  return out;
}

/** group lines as [name, gid, members]; malformed lines are skipped. Pure. */
export function parseGroup(text: string): { name: string; gid: number; members: string[] }[] {
  const out: { name: string; gid: number; members: string[] }[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const gid = parseId(f[2]);
    if (f.length >= 3 && f[0] && gid !== undefined) out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/**
 * Resolves `user` (`''`/undefined = root) against the files, as Docker does: a
 * numeric uid needs no passwd entry (gid 0 then), a name must have one; a group
 * likewise; supplementary groups are those listing the user's name. Throws
 * SpecError for an unknown name or an ID out of range. Pure.
 */
export function resolveUser(user: string | undefined, files: UserFiles): ResolvedUser {
  const spec = user ?? '';
  const colon = spec.indexOf(':');
  const u = colon < 0 ? spec : spec.slice(0, colon);
  const g = colon < 0 ? undefined : spec.slice(colon + 1);
  const pw = parsePasswd(files.passwd ?? '');
  const gr = parseGroup(files.group ?? '');
  const why = files.problems?.length ? ` (${files.problems.join('; ')})` : '';
  let uid = 0; let gid = 0; let name = 'root';
  if (u === '') {
    const e = pw.find((x) => x.uid === 0);
    if (e) { gid = e.gid; name = e.name; }
  } else if (/^\d+$/.test(u)) {
    const id = parseId(u);
    if (id === undefined) throw new SpecError(`uid ${u} is out of range`);
    uid = id;
    const e = pw.find((x) => x.uid === id);
    if (e) { gid = e.gid; name = e.name; } else name = '';
  } else {
    const e = pw.find((x) => x.name === u);
    if (!e) throw new SpecError(`unable to find user ${u}: no matching entries in passwd file${why}`);
    uid = e.uid; gid = e.gid; name = e.name;
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) {
      const id = parseId(g);
      if (id === undefined) throw new SpecError(`gid ${g} is out of range`);
      gid = id;
    } else {
      const e = gr.find((x) => x.name === g);
      if (!e) throw new SpecError(`unable to find group ${g}: no matching entries in group file${why}`);
      gid = e.gid;
    }
  }
  const additionalGids = name ? gr.filter((x) => x.members.includes(name)).map((x) => x.gid).filter((x) => x !== gid) : [];
  return { uid, gid, additionalGids: [...new Set(additionalGids)] };
}

// libuv opens every fd with O_CLOEXEC already.
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

function special(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): boolean {
  return st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice() || st.isSocket();
}

function kind(st: { isSymbolicLink(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean; isSocket(): boolean }): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads `rel` (e.g. `etc/passwd`) below `rootfs` without following any link and
 * without blocking. Returns `{ text }`, `{}` when absent, or `{ problem }` when the
 * path is there but ignored (a link on the way, not a regular file, over `maxBytes`).
 */
export function readRootfsFile(rootfs: string, rel: string, opts: { maxBytes?: number } = {}): { text?: string; problem?: string; special?: boolean } {
  const max = opts.maxBytes ?? MAX_USER_FILE_BYTES;
  const parts = rel.split('/').filter((p) => p && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new Error(`exec: assertion: bad rootfs path ${rel}`);
  const shown = `/${parts.join('/')}`;
  const fds: number[] = [];
  try {
    fds.push(openSync(rootfs, constants.O_RDONLY | constants.O_DIRECTORY));
    for (let i = 0; i < parts.length - 1; i++) {
      try { fds.push(openSync(`/proc/self/fd/${fds.at(-1)}/${parts[i]}`, DIR_FLAGS)); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return {};
        if (code === 'ELOOP' || code === 'ENOTDIR') return { problem: `${shown} ignored: /${parts.slice(0, i + 1).join('/')} is a symlink or not a directory` };
        throw e;
      }
    }
    const at = `/proc/self/fd/${fds.at(-1)}/${parts.at(-1)}`;
    let st;
    try { st = lstatSync(at); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {}; throw e; }
    if (!st.isFile()) return { problem: `${shown} ignored: it is ${kind(st)}`, ...(special(st) ? { special: true } : {}) };
    let fd: number;
    try { fd = openSync(at, FILE_FLAGS); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') return { problem: `${shown} ignored: it is a symlink` };
      throw e;
    }
    fds.push(fd);
    const fst = fstatSync(fd);
    if (!fst.isFile()) return { problem: `${shown} ignored: it is ${kind(fst)}`, ...(special(fst) ? { special: true } : {}) };
    if (fst.size > max) return { problem: `${shown} ignored: ${fst.size} bytes, over ${max}` };
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r; n <= max && (r = readSync(fd, buf, n, max + 1 - n, null)) > 0;) n += r;
    if (n > max) return { problem: `${shown} ignored: over ${max} bytes` };
    return { text: buf.subarray(0, n).toString('utf8') };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** `/etc/passwd` and `/etc/group` of `rootfs`, read as readRootfsFile does. */
export function readUserFiles(rootfs: string, opts: { maxBytes?: number } = {}): UserFiles {
  const pw = readRootfsFile(rootfs, 'etc/passwd', opts);
  const gr = readRootfsFile(rootfs, 'etc/group', opts);
  const problems = [pw.problem, gr.problem].filter((p): p is string => !!p);
  const blocking = [pw.special && '/etc/passwd', gr.special && '/etc/group'].filter((p): p is string => !!p);
  return { passwd: pw.text, group: gr.text, ...(problems.length ? { problems } : {}), ...(blocking.length ? { blocking } : {}) };
}

/**
 * Throws SpecError when /etc/passwd or /etc/group is a FIFO, device or socket. The
 * daemon never opens them, but the runtime's init does (runc reads /etc/passwd inside
 * the container, even for numeric IDs) and would block there for ever: such a task is
 * refused at prepare, with the reason, instead of hanging in `starting`.
 */
export function refuseBlockingUserFiles(files: UserFiles): void {
  if (files.blocking?.length) throw new SpecError(`${files.blocking.join(' and ')} of the image is not a regular file (a FIFO, device or socket): the container runtime would block reading it`);
}
