#!/usr/bin/perl
# shoal socket broker: one per network agent, a child of the daemon on Node's IPC channel
# (fd NODE_CHANNEL_FD). For each request it enters a task's network namespace (setns),
# makes the DNS sockets there (UDP bound, TCP listening), returns to its own namespace
# and hands both to the daemon as Node IPC handles (SCM_RIGHTS), so the daemon serves DNS
# inside that netns. About 1 ms per task, against ≈ 100 ms for forking a Node helper
# under nsenter. Perl because Node cannot call setns(2), and perl-base is on every Debian
# host (as for the exec monitor).
#
# Requests (Node `send` of a string, JSON-encoded on the channel):
#   "bind ID NETNS ADDRESS PORT"
# Replies:
#   {"cmd":"NODE_HANDLE","type":"dgram.Socket","msg":{"id":ID,"proto":"udp"},"dgramType":"udp4"} + fd
#   {"cmd":"NODE_HANDLE","type":"net.Server","msg":{"id":ID,"proto":"tcp"}} + fd
#   {"id":ID,"error":"TEXT"}
# It exits when the channel closes.
use strict;
use warnings;
use Socket qw(AF_INET SOCK_DGRAM SOCK_STREAM SOL_SOCKET SO_REUSEADDR inet_aton pack_sockaddr_in);

my %NR = (x86_64 => { setns => 308 }, aarch64 => { setns => 268 });
my $nr = $NR{(POSIX::uname())[4]} // die "socket-broker: unknown arch\n";
use POSIX ();
use constant { CLONE_NEWNET => 0x40000000 };

my $chan = $ENV{NODE_CHANNEL_FD} // die "socket-broker: no NODE_CHANNEL_FD\n";
open(my $io, '+<&=', $chan) or die "socket-broker: channel: $!\n";
open(my $home, '<', '/proc/self/ns/net') or die "socket-broker: own netns: $!\n";

use File::Basename qw(dirname);
require(dirname(__FILE__) . '/../../../net/perl/node-ipc.pl');
sub send_msg { node_ipc_send($io, @_); }

sub make_sockets {
  my ($netns, $addr, $port) = @_;
  open(my $ns, '<', "/run/netns/$netns") or return "netns $netns: $!";
  syscall($nr->{setns}, fileno($ns), CLONE_NEWNET) == 0 or return "setns $netns: $!";
  my ($udp, $tcp, $err);
  my $sa = pack_sockaddr_in($port, inet_aton($addr));
  if (!socket($udp, AF_INET, SOCK_DGRAM, 0) || !bind($udp, $sa)) { $err = "udp $addr:$port: $!"; }
  elsif (!socket($tcp, AF_INET, SOCK_STREAM, 0) || !setsockopt($tcp, SOL_SOCKET, SO_REUSEADDR, 1)
    || !bind($tcp, $sa) || !listen($tcp, 511)) { $err = "tcp $addr:$port: $!"; }
  syscall($nr->{setns}, fileno($home), CLONE_NEWNET) == 0 or die "socket-broker: setns back: $!\n";
  return $err // [$udp, $tcp];
}

my $pending = '';
while (1) {
  my $n = sysread($io, $pending, 65536, length $pending);
  exit 0 if !$n;   # channel closed: the daemon is gone or done with us
  while ($pending =~ s/^([^\n]*)\n//) {
    my $line = $1;
    next unless $line =~ /^"bind (\d+) ([A-Za-z0-9_.-]+) (\d{1,3}(?:\.\d{1,3}){3}) (\d{1,5})"$/;   # NODE_HANDLE_ACK and others: ignored
    my ($id, $netns, $addr, $port) = ($1, $2, $3, $4);
    my $r = make_sockets($netns, $addr, $port);
    if (!ref $r) { (my $e = $r) =~ s/["\\\x00-\x1f]/ /g; send_msg(qq({"id":$id,"error":"$e"})); next; }
    send_msg(qq({"cmd":"NODE_HANDLE","type":"dgram.Socket","msg":{"id":$id,"proto":"udp"},"dgramType":"udp4"}), fileno($r->[0]));
    send_msg(qq({"cmd":"NODE_HANDLE","type":"net.Server","msg":{"id":$id,"proto":"tcp"}}), fileno($r->[1]));
    close($r->[0]);   # the daemon holds its own copies now
    close($r->[1]);
  }
}
