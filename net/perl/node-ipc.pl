# Node IPC from Perl helpers (socket-broker.pl, nft-spawner.pl): one message on the channel
# Node gave a child (`stdio: [..., 'ipc']`, fd NODE_CHANNEL_FD), a JSON line, with a file
# descriptor attached by SCM_RIGHTS when given (Node turns it into a handle: a socket or a
# server, after the line's `"cmd":"NODE_HANDLE"`). Loaded with `require`; perl-base only.
use strict;
use warnings;
use POSIX ();
use Socket qw(SOL_SOCKET);

my %SENDMSG = (x86_64 => 46, aarch64 => 211);
my $SCM_RIGHTS = 1;

# node_ipc_send($channel_fh, $json_line[, $fd]): dies unless the whole line went.
sub node_ipc_send {
  my ($io, $line, $fd) = @_;
  my $sendmsg = $SENDMSG{(POSIX::uname())[4]} // die "node-ipc: unknown arch\n";
  my $buf = "$line\n";
  my $iov = pack('QQ', unpack('Q', pack('p', $buf)), length $buf);
  my ($ctl, $ctllen, $ctlptr) = ('', 0, 0);
  if (defined $fd) {
    $ctl = pack('QllL', 20, SOL_SOCKET, $SCM_RIGHTS, $fd) . "\0" x 4;   # CMSG_LEN(4) = 20, CMSG_SPACE(4) = 24
    $ctllen = 24;
    $ctlptr = unpack('Q', pack('p', $ctl));
  }
  my $hdr = pack('QLx4QQQQlx4', 0, 0, unpack('Q', pack('p', $iov)), 1, $ctlptr, $ctllen, 0);
  my $n;
  do { $n = syscall($sendmsg, fileno($io), $hdr, 0); } while ($n < 0 && $!{EINTR});
  die "node-ipc: sendmsg: $!\n" if $n != length $buf;
}

1;
