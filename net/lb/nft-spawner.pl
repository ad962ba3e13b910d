#!/usr/bin/perl
# shoal nft spawner: one per network agent, a child of the daemon on Node's IPC channel
# (fd NODE_CHANNEL_FD). For each request it makes a socket pair, forks, and the child enters
# the named network namespace (setns), puts its end of the pair on stdin, stdout and stderr
# and execs `nft -i`; the other end goes to the daemon as a Node IPC handle (SCM_RIGHTS).
#
# Why: the daemon starting `nsenter … nft -i` itself forks the whole Node process, which
# stalls its event loop ~5-15 ms a start on the project's PVM machine (14 ms at 158 MB RSS);
# this process is small, so its fork is cheap, and the daemon only sends a line. Perl
# because Node cannot call setns(2) and perl-base is on every Debian host (as for
# socket-broker.pl, whose handle passing this follows).
#
# Requests (Node `send` of a string, JSON-encoded on the channel):
#   "start ID NETNS NFT"   NETNS: a name under /run/netns, or "-" for this process's own
#   "kill PID"             SIGKILL, only while PID is a child of ours not yet reaped
# Replies:
#   {"cmd":"NODE_HANDLE","type":"net.Socket","msg":{"id":ID,"pid":PID}} + fd
#   {"id":ID,"error":"TEXT"}
# Children are reaped here. It exits when the channel closes (the sessions' sockets are the
# daemon's: when it goes, every nft reads EOF and ends).
use strict;
use warnings;
use POSIX ();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Fcntl qw(F_SETFD FD_CLOEXEC);

my %NR = (x86_64 => { setns => 308 }, aarch64 => { setns => 268 });
my $nr = $NR{(POSIX::uname())[4]} // die "nft-spawner: unknown arch\n";
use constant { CLONE_NEWNET => 0x40000000 };

my $chan = $ENV{NODE_CHANNEL_FD} // die "nft-spawner: no NODE_CHANNEL_FD\n";
open(my $io, '+<&=', $chan) or die "nft-spawner: channel: $!\n";
fcntl($io, F_SETFD, FD_CLOEXEC) or die "nft-spawner: cloexec: $!\n";   # never inherited by nft

my %live;   # PID => 1 while a child of ours runs (not reaped)
$SIG{CHLD} = sub { while ((my $p = waitpid(-1, POSIX::WNOHANG())) > 0) { delete $live{$p}; } };

use File::Basename qw(dirname);
require(dirname(__FILE__) . '/../perl/node-ipc.pl');
sub send_msg { node_ipc_send($io, @_); }

sub fail {
  my ($id, $text) = @_;
  $text =~ s/["\\\x00-\x1f]/ /g;
  send_msg(qq({"id":$id,"error":"$text"}));
}

sub start {
  my ($id, $netns, $nft) = @_;
  my $ns;
  if ($netns ne '-') { open($ns, '<', "/run/netns/$netns") or return fail($id, "netns $netns: $!"); }
  socketpair(my $ours, my $theirs, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or return fail($id, "socketpair: $!");
  my $pid = fork();
  return fail($id, "fork: $!") if !defined $pid;
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT';
    if ($ns && syscall($nr->{setns}, fileno($ns), CLONE_NEWNET) != 0) { print STDERR "nft-spawner: setns $netns: $!\n"; POSIX::_exit(126); }
    POSIX::dup2(fileno($theirs), $_) for 0, 1, 2;
    $ENV{HOME} = '/nonexistent';   # nft -i writes its history under $HOME when it ends
    exec { $nft } $nft, '-i' or POSIX::_exit(127);
  }
  $live{$pid} = 1;
  close($theirs);
  send_msg(qq({"cmd":"NODE_HANDLE","type":"net.Socket","msg":{"id":$id,"pid":$pid}}), fileno($ours));
  close($ours);   # the daemon holds its own copy now
}

my $pending = '';
while (1) {
  my $n = sysread($io, $pending, 65536, length $pending);
  if (!defined $n) { next if $!{EINTR}; exit 0; }
  exit 0 if !$n;   # channel closed: the daemon is gone or done with us
  while ($pending =~ s/^([^\n]*)\n//) {
    my $line = $1;
    if ($line =~ m{^"start (\d+) ([A-Za-z0-9_.-]+) (/[A-Za-z0-9_./-]+|nft)"$}) { start($1, $2, $3); }
    elsif ($line =~ /^"kill (\d+)"$/) { kill('KILL', $1) if $live{$1}; }
    # NODE_HANDLE_ACK and anything else: ignored
  }
}
