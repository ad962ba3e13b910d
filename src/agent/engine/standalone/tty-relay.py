#!/usr/bin/env python3
"""Relays the terminal of a standalone container's main process (`docker run -t`).

Usage: tty-relay.py SOCK LOGFIFO
Node cannot receive a file descriptor over a unix socket, so this helper listens on
SOCK (runc's --console-socket; it prints `ready` on stderr once it listens), takes the
pseudoterminal master runc sends, and then copies: master -> stdout and LOGFIFO (the
container's stdout FIFO, so `docker logs` has the output), stdin -> master, and applies
`HEIGHT WIDTH` lines read from fd 3 as window sizes. It exits when the terminal closes
(the container's processes are gone). The container's exit code is the monitor's, not ours.
"""
import os
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tty_loop import relay  # noqa: E402 (src/agent/engine/tty_loop.py, shared with tty-exec.py)


def main():
    sock_path, log_fifo = sys.argv[1], sys.argv[2]
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    sys.stderr.write('ready\n')
    sys.stderr.flush()
    conn, _ = srv.accept()
    _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    conn.close()
    srv.close()
    os.unlink(sock_path)
    master = fds[0]
    try:
        log = os.open(log_fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        log = None
    try:
        relay(master, copy_to=log)
    except BrokenPipeError:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
