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
import fcntl
import os
import select
import socket
import struct
import sys
import termios


def write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            return False
        data = data[n:]
    return True


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
    watch = [0, master, 3]
    resize_buf = b''
    while master in watch:
        ready, _, _ = select.select(watch, [], [])
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b''
            if not data:
                break
            try:
                write_all(1, data)
            except BrokenPipeError:
                return 0
            if log is not None:
                write_all(log, data)
        if 0 in ready:
            data = os.read(0, 65536)
            if data:
                write_all(master, data)
            else:
                watch.remove(0)
        if 3 in ready:
            data = os.read(3, 4096)
            if not data:
                watch.remove(3)
            resize_buf += data
            while b'\n' in resize_buf:
                line, resize_buf = resize_buf.split(b'\n', 1)
                h, w = (int(x) for x in line.split())
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', h, w, 0, 0))
    return 0


if __name__ == '__main__':
    sys.exit(main())
