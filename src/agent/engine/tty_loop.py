"""The relay loop of a pseudoterminal master, shared by tty-exec.py and standalone/tty-relay.py.

Both helpers exist because Node cannot receive a file descriptor over a unix socket; once
they hold the master runc sent, they relay it the same way (this module; it has an
underscore because Python imports it by name).
"""
import fcntl
import os
import select
import struct
import termios


def write_all(fd, data):
    """Writes all of `data` to `fd`; False when `fd` is non-blocking and full (the rest is dropped)."""
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            return False
        data = data[n:]
    return True


def relay(master, copy_to=None):
    """Copies `master` to stdout (and to `copy_to`, dropping what does not fit), stdin to
    `master`, and applies `HEIGHT WIDTH` lines read from fd 3 as window sizes. Returns when
    the terminal closes (every process holding it is gone). A BrokenPipeError of stdout
    propagates: the caller decides what a reader that went away means."""
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
            write_all(1, data)
            if copy_to is not None:
                write_all(copy_to, data)
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
