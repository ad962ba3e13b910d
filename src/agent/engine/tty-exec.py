#!/usr/bin/env python3
"""Runs `runc exec -d --console-socket SOCK --pid-file PIDFILE ...` and relays its terminal.

Usage: tty-exec.py SOCK PIDFILE RUNC-ARGV...
Node cannot receive a file descriptor over a unix socket, so this helper takes the
pseudoterminal master runc sends to SOCK, copies stdin to it and it to stdout, and
applies `HEIGHT WIDTH` lines read from fd 3 as window sizes. runc takes a console
socket only when it detaches, so the helper is a child subreaper: the exec'd process
becomes its child when runc exits, and the helper exits with its exit code (128+N
when killed by signal N).
"""
import ctypes
import os
import socket
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from tty_loop import relay  # noqa: E402 (beside this script, on sys.path[0])


def main():
    sock_path, pid_file, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    # PR_SET_CHILD_SUBREAPER: the detached process is reparented to us, not to init.
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    srv.settimeout(0.05)
    master = None
    while master is None:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            if proc.poll() is not None:
                os.unlink(sock_path)
                return proc.returncode
            continue
        conn.settimeout(None)
        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        conn.close()
        master = fds[0]
    srv.close()
    os.unlink(sock_path)
    code = proc.wait()
    if code != 0:
        return code
    with open(pid_file) as f:
        pid = int(f.read().strip())
    os.unlink(pid_file)
    relay(master)
    while True:
        try:
            p, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if p == pid:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)


if __name__ == '__main__':
    sys.exit(main())
