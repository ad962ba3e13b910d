#!/usr/bin/env python3
"""The exec helper of one running container: `docker exec` without a runc process per call.

Usage: exec-helper.py SOCK PID CONFIG [IDLE_MS]
  SOCK    unix socket to listen on (made here, mode 0600)
  PID     the container's init process (as this process sees it)
  CONFIG  the container's OCI config.json (for linux.seccomp)
  IDLE_MS exit after this long without a new exec (default: never); the daemon
          starts a new helper at the next one

Started once per container by exec-helper.ts. At start, still in the host's mount
namespace, it opens what every exec needs: the init's namespaces (pidfd first, so a
reused PID is detected), the cgroup.procs file of each of the init's cgroups, and the
container's seccomp filter compiled to BPF with the host's libseccomp (runc's rules:
see compile_seccomp). Then it joins the init's ipc, uts, net and mount namespaces,
prints `ready`, and serves: a session process forked ahead of each connection (it
stays in the host's PID namespace, so a task never sees it) joins the PID namespace
for its child, accepts a connection and forks the process; that child joins the cgroups and the cgroup namespace, and
applies exactly the process spec runc would get (exec-process.ts, capabilities as
numbers): rlimits, bounding set, user and groups, working directory, effective/
permitted/inheritable/ambient capabilities, AppArmor profile, no_new_privs, seccomp
(before the capabilities drop without no_new_privs, last with it, as runc does), then
execve. Exits when the init exits, its stdin (the daemon) closes, or it idled IDLE_MS;
running sessions outlive it.

Protocol (one connection = one exec): a JSON line (the request), then frames of
TYPE(1) LENGTH(4, big-endian) PAYLOAD both ways. To the helper: 0 stdin bytes,
6 stdin closed, 7 resize (u16 height, u16 width). From it: 4 started (u32 host pid),
1 stdout, 2 stderr (the terminal's output is stdout), 5 error text, 3 exit (i32).

Exit status at start: 0 after serving; 3 when this container cannot be served here
(the daemon falls back to `runc exec`), with the reason on stderr.
"""
import ctypes
import errno
import fcntl
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import termios

libc = ctypes.CDLL(None, use_errno=True)
NS_ORDER = ['ipc', 'uts', 'net', 'mnt']  # joined by the helper; pid and cgroup per exec
CLONE_NEWPID, CLONE_NEWCGROUP = 0x20000000, 0x02000000
PR_SET_KEEPCAPS, PR_CAPBSET_DROP, PR_SET_DUMPABLE = 8, 24, 4
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 2, 4
SYS_SECCOMP, SECCOMP_SET_MODE_FILTER = 317, 1  # x86-64; other arches: unsupported (runc fallback)
FLAGS = {'SECCOMP_FILTER_FLAG_TSYNC': 1, 'SECCOMP_FILTER_FLAG_LOG': 2, 'SECCOMP_FILTER_FLAG_SPEC_ALLOW': 4}
T_STDOUT, T_STDERR, T_EXIT, T_PID, T_ERROR = 1, 2, 3, 4, 5
T_STDIN, T_STDIN_EOF, T_RESIZE = 0, 6, 7


class Unsupported(Exception):
    """This container cannot be served by the helper (exit 3: the daemon uses runc exec)."""


def check(ret, what):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f'{what}: {os.strerror(e)}')
    return ret


# --- start-up, in the host's mount namespace -------------------------------------------

def scmp_action(name, errno_ret, default_errno):
    base = {'SCMP_ACT_KILL': 0, 'SCMP_ACT_KILL_THREAD': 0, 'SCMP_ACT_KILL_PROCESS': 0x80000000,
            'SCMP_ACT_TRAP': 0x00030000, 'SCMP_ACT_LOG': 0x7ffc0000, 'SCMP_ACT_ALLOW': 0x7fff0000}
    if name in base:
        return base[name]
    if name == 'SCMP_ACT_ERRNO':
        return 0x00050000 | ((errno_ret if errno_ret is not None else default_errno) & 0xffff)
    if name == 'SCMP_ACT_TRACE':
        return 0x7ff00000 | ((errno_ret if errno_ret is not None else default_errno) & 0xffff)
    raise Unsupported(f'seccomp action {name}')


class ArgCmp(ctypes.Structure):
    _fields_ = [('arg', ctypes.c_uint), ('op', ctypes.c_int), ('a', ctypes.c_uint64), ('b', ctypes.c_uint64)]


OPS = {'SCMP_CMP_NE': 1, 'SCMP_CMP_LT': 2, 'SCMP_CMP_LE': 3, 'SCMP_CMP_EQ': 4, 'SCMP_CMP_GE': 5,
       'SCMP_CMP_GT': 6, 'SCMP_CMP_MASKED_EQ': 7}


def compile_seccomp(cfg):
    """The BPF program of OCI `linux.seccomp` `cfg`, built as runc 1.1 builds it with
    libseccomp: no NNP attribute, ERRNO defaults to EPERM (or defaultErrnoRet), rules
    whose action is the default are left out, syscalls libseccomp does not know are
    skipped, and a rule whose arguments repeat an index becomes one rule per argument
    (OR) instead of one conditional rule (AND). runc also prepends a stub answering
    ENOSYS to syscalls newer than the profile; this filter has no such stub."""
    try:
        lib = ctypes.CDLL('libseccomp.so.2', use_errno=True)
    except OSError as e:
        raise Unsupported(f'libseccomp: {e}')
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ArgCmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    derr = cfg.get('defaultErrnoRet')
    derr = errno.EPERM if derr is None else derr
    default = scmp_action(cfg['defaultAction'], None, derr)
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise Unsupported('seccomp_init failed')
    check(lib.seccomp_attr_set(ctx, 3, 0), 'seccomp: no-NNP attribute')  # SCMP_FLTATR_CTL_NNP
    for a in cfg.get('architectures') or []:
        tok = lib.seccomp_arch_resolve_name(a.replace('SCMP_ARCH_', '').lower().encode())
        if tok == 0:
            raise Unsupported(f'seccomp architecture {a}')
        r = lib.seccomp_arch_add(ctx, tok)
        if r < 0 and r != -errno.EEXIST:
            raise Unsupported(f'seccomp architecture {a}: {os.strerror(-r)}')
    for rule in cfg.get('syscalls') or []:
        act = scmp_action(rule['action'], rule.get('errnoRet'), errno.EPERM)
        if act == default:
            continue
        args = rule.get('args') or []
        conds = [ArgCmp(a['index'], OPS[a['op']], a.get('value', 0), a.get('valueTwo', 0)) for a in args]
        same_index = len({a['index'] for a in args}) != len(args)
        groups = [[c] for c in conds] if same_index else [conds]
        for name in rule.get('names') or []:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:
                continue
            for g in groups:
                arr = (ArgCmp * len(g))(*g)
                r = lib.seccomp_rule_add_array(ctx, act, nr, len(g), arr)
                if r < 0:
                    raise Unsupported(f'seccomp rule {name}: {os.strerror(-r)}')
    fd = os.memfd_create('seccomp-bpf')
    check(lib.seccomp_export_bpf(ctx, fd), 'seccomp export')
    lib.seccomp_release(ctx)
    os.lseek(fd, 0, os.SEEK_SET)
    prog = b''
    while chunk := os.read(fd, 65536):
        prog += chunk
    os.close(fd)
    flags = 0
    for f in cfg.get('flags') or []:
        if f not in FLAGS:
            raise Unsupported(f'seccomp flag {f}')
        flags |= FLAGS[f]
    return prog, flags


def cgroup_files(pid):
    """The cgroups of `pid`, host paths, as files to write `0` to (write-only fds):
    (v1, v2, v2_bare). v1: the `tasks` file of each v1 hierarchy: it moves only the
    calling thread, and the exec's child has one; unlike `cgroup.procs` it does not take
    the kernel's global threadgroup lock, whose RCU grace period cost 5-17 ms per exec
    here (runc pays it). v2: `cgroup.procs` of the unified hierarchy, or None. v2_bare:
    no controller is enabled there (a hybrid host), so the spare session can join it
    ahead of its connection without any accounting the task would see."""
    mounts = []  # (mountpoint, root, fstype, options)
    with open('/proc/self/mountinfo') as f:
        for line in f:
            left, right = line.split(' - ', 1)
            lf, rf = left.split(), right.split()
            if rf[0] in ('cgroup', 'cgroup2'):
                mounts.append((lf[4], lf[3], rf[0], set(rf[2].split(','))))
    v1, v2, bare = [], None, False
    with open(f'/proc/{pid}/cgroup') as f:
        for line in f:
            hid, ctrls, path = line.rstrip('\n').split(':', 2)
            want = set(c for c in ctrls.split(',') if c)
            for mp, root, fstype, opts in mounts:
                ok = fstype == 'cgroup2' if hid == '0' else (fstype == 'cgroup' and want <= opts)
                if ok and (path + '/').startswith(root.rstrip('/') + '/'):
                    d = os.path.join(mp, path[len(root.rstrip('/')):].lstrip('/'))
                    if hid == '0':
                        v2 = os.open(os.path.join(d, 'cgroup.procs'), os.O_WRONLY | os.O_CLOEXEC)
                        with open(os.path.join(d, 'cgroup.controllers')) as c:
                            bare = c.read().strip() == ''
                    else:
                        v1.append(os.open(os.path.join(d, 'tasks'), os.O_WRONLY | os.O_CLOEXEC))
                    break
            else:
                raise Unsupported(f'cgroup hierarchy {hid}:{ctrls} of pid {pid} is not mounted here')
    return v1, v2, bare


def setns(fd, nstype, what):
    check(libc.setns(fd, nstype), f'setns {what}')


# --- one exec: the session (host PID namespace) and its child ----------------------------

def send(conn, kind, payload=b''):
    conn.sendall(struct.pack('>BI', kind, len(payload)) + payload)


def lookup(argv0, env):
    """The executable of `argv0` as the container's PATH (the exec's env) finds it."""
    if '/' in argv0:
        return argv0
    path = next((e[5:] for e in env if e.startswith('PATH=')), '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
    for d in path.split(':'):
        p = os.path.join(d or '.', argv0)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise FileNotFoundError(errno.ENOENT, f'exec: "{argv0}": executable file not found in $PATH')


def capset(eff, perm, inh):
    hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)(eff & 0xffffffff, perm & 0xffffffff, inh & 0xffffffff, eff >> 32, perm >> 32, inh >> 32)
    check(libc.capset(hdr, data), 'capset')


def load_seccomp(prog, flags):
    class Fprog(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_char_p)]
    fp = Fprog(len(prog) // 8, prog)
    check(libc.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, flags, ctypes.byref(fp)), 'seccomp')


def bits(xs):
    v = 0
    for c in xs or []:
        v |= 1 << c
    return v


def child(st, req, stdio, errw):
    """In the container's PID namespace: never returns."""
    try:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace or /proc access by the task meanwhile
        v1, v2, v2_joined = st['cgroups']
        for fd in v1:
            os.write(fd, b'0')
        if v2 is not None and not v2_joined:
            os.write(v2, b'0')
        setns(st['ns']['cgroup'], CLONE_NEWCGROUP, 'cgroup')
        if req.get('terminal'):
            os.setsid()
            fcntl.ioctl(stdio[0], termios.TIOCSCTTY, 0)
        for i, fd in enumerate(stdio):
            os.dup2(fd, i, inheritable=True)
        for s in range(1, signal.NSIG):  # Python ignores SIGPIPE and SIGXFSZ; an exec'd process must not
            try:
                signal.signal(s, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for r in req.get('rlimits') or []:
            resource.setrlimit(getattr(resource, r['type']), (r['soft'], r['hard']))
        nnp = bool(req.get('noNewPrivileges'))
        if st['seccomp'] and not nnp:
            load_seccomp(*st['seccomp'])
        caps = req.get('capabilities')
        if caps is not None:
            keep = bits(caps.get('bounding'))
            for c in range(st['last_cap'] + 1):
                if not keep >> c & 1:
                    check(libc.prctl(PR_CAPBSET_DROP, c, 0, 0, 0), f'drop capability {c}')
        check(libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), 'keepcaps')
        user = req['user']
        os.setgroups(user.get('additionalGids') or [])
        os.setgid(user['gid'])
        os.setuid(user['uid'])
        try:
            os.chdir(req['cwd'])
        except OSError as e:
            raise OSError(e.errno, f'chdir to cwd ("{req["cwd"]}") set in config.json failed: {os.strerror(e.errno)}')
        check(libc.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), 'keepcaps')
        if caps is not None:
            capset(bits(caps.get('effective')), bits(caps.get('permitted')), bits(caps.get('inheritable')))
            check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), 'clear ambient')
            for c in caps.get('ambient') or []:
                check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0), f'ambient capability {c}')
        if req.get('apparmorProfile'):
            fd = os.open('self/attr/exec', os.O_WRONLY, dir_fd=st['proc'])
            os.write(fd, f'exec {req["apparmorProfile"]}'.encode())
            os.close(fd)
        args, env = req['args'], req['env']
        exe = lookup(args[0], env)
        os.closerange(3, errw)  # Python's own fds are close-on-exec already; anything else goes too
        os.closerange(errw + 1, 1 << 20)
        if nnp:
            check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'no_new_privs')
            if st['seccomp']:
                load_seccomp(*st['seccomp'])
        os.execve(exe, args, dict(e.split('=', 1) for e in env if '=' in e))
    except BaseException as e:  # noqa: BLE001 (reported to the session, then gone)
        msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        code = 126  # Docker's exit code of an exec that could not start
        try:
            os.write(errw, struct.pack('>B', code) + msg.encode()[:4000])
        finally:
            os._exit(code)


def session(st, conn, notify_w):
    """Serves one exec on `conn` (forks in the container's PID namespace); never returns.
    Writes to `notify_w` (the main process forks the next spare) once its process ran or
    failed, so that fork does not compete with this exec's."""
    try:
        buf = b''
        while b'\n' not in buf:
            d = conn.recv(65536)
            if not d:
                raise EOFError('connection closed before the request')
            buf += d
        line, buf = buf.split(b'\n', 1)
        req = json.loads(line)
        tty = bool(req.get('terminal'))
        if tty:
            master, slave = os.openpty()  # the container's /dev/ptmx: a pts of its devpts
            size = req.get('consoleSize')
            if size:
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', size['height'], size['width'], 0, 0))
            stdio, mine = [slave, slave, slave], {master: T_STDOUT}
            inw = master
        else:
            if req.get('stdin'):
                inr, inw = os.pipe()
            else:
                inr, inw = os.open('/dev/null', os.O_RDONLY), None
            outr, outw = os.pipe()
            errr, errw_ = os.pipe()
            stdio, mine = [inr, outw, errw_], {outr: T_STDOUT, errr: T_STDERR}
        errr2, errw = os.pipe()
        pid = os.fork()
        if pid == 0:
            conn.close()
            child(st, req, stdio, errw)
        os.close(errw)
        for fd in set(stdio):
            os.close(fd)
        send(conn, T_PID, struct.pack('>I', pid))
        pidfd = os.pidfd_open(pid)
        failure = b''
        while d := os.read(errr2, 4096):
            failure += d
        os.close(errr2)
        if notify_w is not None:
            os.write(notify_w, b'.')
            notify_w = None
        if failure:
            send(conn, T_ERROR, failure[1:])
        relay(conn, buf, mine, inw, pidfd, tty)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            code = 128 - code
        send(conn, T_EXIT, struct.pack('>i', code))
    except BaseException as e:  # noqa: BLE001
        if notify_w is not None:
            os.write(notify_w, b'.')
        try:
            send(conn, T_ERROR, f'exec helper: {e}'.encode())
            send(conn, T_EXIT, struct.pack('>i', 126))
        except OSError:
            pass
    os._exit(0)


def relay(conn, frames, outs, inw, pidfd, tty):
    """Copies the process's output to `conn` and `conn`'s stdin frames to `inw` until the
    output closes (the terminal: every holder gone; pipes: both at EOF). `frames`: bytes
    already read after the request line."""
    inbuf, stdin_eof, exited, conn_open = b'', False, False, True
    if inw is not None:
        os.set_blocking(inw, False)
    while outs:
        while len(frames) >= 5:
            kind, n = struct.unpack('>BI', frames[:5])
            if len(frames) < 5 + n:
                break
            body, frames = frames[5:5 + n], frames[5 + n:]
            if kind == T_STDIN and inw is not None:
                inbuf += body
            elif kind == T_STDIN_EOF:
                stdin_eof = True
            elif kind == T_RESIZE and tty:
                h, wd = struct.unpack('>HH', body)
                fcntl.ioctl(inw, termios.TIOCSWINSZ, struct.pack('HHHH', h, wd, 0, 0))
        if stdin_eof and not inbuf and inw is not None and not tty:
            os.close(inw)  # the process sees EOF once it read what came before
            inw = None
        rl = list(outs) + ([conn] if conn_open else []) + ([pidfd] if not exited else [])
        wl = [inw] if inbuf and inw is not None else []
        r, w, _ = select.select(rl, wl, [])
        if pidfd in r:
            exited = True  # the output may still be held open by descendants
        for fd in [f for f in r if f in outs]:
            try:
                d = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the terminal's last holder closed it
                d = b''
            if d:
                send(conn, outs[fd], d)
            else:
                del outs[fd]
        if conn in r:
            d = conn.recv(65536)
            if not d:
                conn_open, stdin_eof = False, True
            frames += d
        if w and inw is not None:
            try:
                inbuf = inbuf[os.write(inw, inbuf):]
            except BlockingIOError:
                pass
            except OSError:  # the process closed its stdin
                inbuf = b''


def main():
    sock_path, pid, config = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    idle = int(sys.argv[4]) / 1000 if len(sys.argv) > 4 else None
    try:
        pidfd = os.pidfd_open(pid)
        ns = {t: os.open(f'/proc/{pid}/ns/{t}', os.O_RDONLY | os.O_CLOEXEC) for t in NS_ORDER + ['pid', 'cgroup']}
        if os.stat(f'/proc/{pid}/ns/user').st_ino != os.stat('/proc/self/ns/user').st_ino:
            raise Unsupported('the container has its own user namespace')
        cgroups = cgroup_files(pid)
        with open(config) as f:
            spec = json.load(f)
        sc = (spec.get('linux') or {}).get('seccomp')
        if sc and os.uname().machine != 'x86_64':
            raise Unsupported(f'seccomp on {os.uname().machine}')
        seccomp = compile_seccomp(sc) if sc else None
        if select.select([pidfd], [], [], 0)[0]:
            raise Unsupported(f'pid {pid} exited')
        with open('/proc/sys/kernel/cap_last_cap') as f:
            last_cap = int(f.read())
        proc = os.open('/proc', os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except (Unsupported, OSError) as e:
        print(f'exec helper: cannot serve pid {pid}: {e}', file=sys.stderr)
        return 3
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    sock_dir = os.open(os.path.dirname(sock_path) or '.', os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    srv.bind(sock_path)
    os.umask(old)
    srv.listen(64)
    for t, flag in zip(NS_ORDER, [0x08000000, 0x04000000, 0x40000000, 0x00020000]):
        setns(ns[t], flag, t)
    os.chdir('/')
    st = {'ns': ns, 'cgroups': cgroups, 'seccomp': seccomp, 'last_cap': last_cap, 'proc': proc, 'pidfd': pidfd}
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # sessions are reaped by the kernel
    stop_r, stop_w = os.pipe()  # EOF when this process is gone: the spare leaves too
    notify_r, notify_w = os.pipe()  # a byte when the spare took a connection
    fork_spare(st, srv, stop_r, stop_w, notify_w)
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    while True:
        r, _, _ = select.select([notify_r, pidfd, 0], [], [], idle)
        if not r:
            # Idle (~10 MB back; the next exec starts a helper again). No connect may
            # land after the last accept: the name goes (a host path, reached through
            # the directory opened before setns); the spare serves the backlog.
            os.unlink(os.path.basename(sock_path), dir_fd=sock_dir)
            break
        if pidfd in r or (0 in r and not os.read(0, 4096)):
            break  # the container's init exited, or the daemon closed our stdin
        if notify_r in r:
            os.read(notify_r, 64)
            fork_spare(st, srv, stop_r, stop_w, notify_w)
    return 0


def fork_spare(st, srv, stop_r, stop_w, notify_w):
    """Forks the next session ahead of its connection (a fork less on an exec's path):
    it joins the PID namespace for its child, accepts one connection, tells the main
    process (which forks the next spare), and serves it. When the main process is gone
    it serves one queued connection and closes the rest unanswered (a fork now would
    land in the task's PID namespace): the daemon runs those through runc exec."""
    if os.fork():
        return
    os.close(stop_w)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    setns(st['ns']['pid'], CLONE_NEWPID, 'pid')
    v1, v2, bare = st['cgroups']
    if v2 is not None and bare:
        os.write(v2, b'0')  # the child inherits it: no global-lock write on its path
        st = {**st, 'cgroups': (v1, v2, True)}
    srv.setblocking(False)
    while True:
        # The init's exit too: a spare in its cgroup must not delay the cgroup's removal.
        r, _, _ = select.select([srv, stop_r, st['pidfd']], [], [])
        stopping = stop_r in r or st['pidfd'] in r
        try:
            conn, _ = srv.accept()
        except BlockingIOError:
            if stopping:
                os._exit(0)
            continue
        conn.setblocking(True)
        if stopping:
            while True:
                try:
                    srv.accept()[0].close()
                except BlockingIOError:
                    break
        srv.close()
        session(st, conn, None if stopping else notify_w)


if __name__ == '__main__':
    sys.exit(main())
