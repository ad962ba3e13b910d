#!/usr/bin/perl
# shoal exec monitor: one per daemon (not per container). It is the child subreaper
# that every `runc run -d` runs under, so container processes are re-parented to it
# and it learns their exit statuses, which it records in EXITS/<id> ("STATUS PID", of
# the ID's newest process only) and broadcasts to connected daemons. It outlives a
# daemon killed with SIGKILL; the restarted daemon reconnects and reads the exit files
# of containers that ended meanwhile.
# Written in Perl because Node cannot call prctl(2) or waitpid(2) on non-children,
# and perl-base is on every Debian host. Line protocol, tab-separated:
#   run REQ ID OUT ERR PIDFILE ARGV(\x1f-joined) -> ran REQ STATUS PID
#     (ARGV a `runc run -d` or a `runc create`: either way the init is re-parented here;
#      a created one is then started by an `exec` of `runc start`, same PID)
#   kill ID SIGNUM                               -> killed ID 0|1
#   mkfifo PATH...                                -> made 0|1
#   mount REQ SRC TARGET FSTYPE FLAGS DATA       -> res REQ ERR      (ERR empty on success)
#   umount REQ TARGET FLAGS                      -> res REQ ERR
#   netns REQ PATH                               -> res REQ ERR      (new netns bound at PATH, lo up)
#   exec REQ ARGV(\x1f-joined)                    -> res REQ STATUS STDERR(hex)
# mount/umount/netns are done with syscalls inside the monitor: no process per call.
#   ping                                          -> pong PID
#   quit                                          -> (exits when no container runs)
#   release                                       -> (a daemon stopping gracefully: exits once no
#                                                    container runs and no daemon is connected;
#                                                    a daemon connecting again cancels it)
#   (broadcast)                                   -> exit ID PID WAITSTATUS
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use POSIX qw(:sys_wait_h :errno_h setsid mkfifo);

my $dir = shift @ARGV or die "usage: monitor.pl STATEDIR\n";
my %NR = (
  x86_64  => { prctl => 157, mount => 165, umount2 => 166, unshare => 272, setns => 308 },
  aarch64 => { prctl => 167, mount => 40,  umount2 => 39,  unshare => 97,  setns => 268 },
);
my $arch = (POSIX::uname())[4];
my $nr = $NR{$arch} // die("monitor: unknown arch $arch\n");
syscall($nr->{prctl}, 36, 1, 0, 0, 0) == 0
  or die "monitor: prctl(PR_SET_CHILD_SUBREAPER): $!\n";
use constant { CLONE_NEWNET => 0x40000000, MS_BIND => 4096, SIOCSIFFLAGS => 0x8914, IFF_UP_LOOPBACK => 0x9 };
my %execs;      # exec child pid -> [client, req, stderr file]
mkdir "$dir/exits", 0700;
my $path = "$dir/monitor.sock";
unlink $path;
my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path, Listen => 128)
  or die "monitor: listen $path: $!\n";
chmod 0600, $path;   # root only: the socket runs commands as root (its folder is 0700 too)
open(my $pf, '>', "$dir/monitor.pid.tmp") or die; print $pf "$$\n"; close $pf;
rename "$dir/monitor.pid.tmp", "$dir/monitor.pid";

my $sel = IO::Select->new($srv);
my %buf;        # client fileno -> partial input
my %clients;    # fileno -> socket
my %runc;       # runc pid -> [client, req, id, pidfile]
my %cont;       # container pid -> id
my %byid;       # id -> container pid
my %early;      # pid -> status, reaped before its runc parent reported it
my $quitting = 0;
my $released = 0;
$SIG{CHLD} = sub { };
$SIG{PIPE} = 'IGNORE';
$SIG{TERM} = sub { $quitting = 1 };

sub send_to { my ($c, $line) = @_; eval { syswrite($c, "$line\n") }; }
sub broadcast { my ($line) = @_; send_to($_, $line) for values %clients; }

sub record_exit {
  my ($pid, $st) = @_;
  my $id = delete $cont{$pid};
  return 0 unless defined $id;
  # Only this PID's own entry: a container deleted before its start (never ran) may be
  # reaped after a new one of the same ID registered.
  my $current = ($byid{$id} // 0) == $pid;
  delete $byid{$id} if $current;
  # The exit file likewise: that late exit must not overwrite the newer one's, which a
  # restarted daemon reads (the broadcast still goes: a discard waits for it by PID).
  if ($current && open(my $f, '>', "$dir/exits/$id.tmp")) { print $f "$st $pid\n"; close $f; rename "$dir/exits/$id.tmp", "$dir/exits/$id"; }
  broadcast("exit\t$id\t$pid\t$st");
  return 1;
}

sub reap {
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    my $st = $?;
    if (my $e = delete $execs{$pid}) {
      my ($c, $req, $errf) = @$e;
      my $err = '';
      if (open(my $f, '<', $errf)) { local $/; $err = <$f> // ''; close $f; }
      unlink $errf;
      send_to($c, "res\t$req\t$st\t" . unpack('H*', substr($err, -2000)));
      next;
    }
    if (my $r = delete $runc{$pid}) {
      my ($c, $req, $id, $pidfile) = @$r;
      my $cpid = 0;
      if ($st == 0 && open(my $f, '<', $pidfile)) { $cpid = <$f> // 0; chomp $cpid; close $f; }
      if ($cpid > 0) {
        $cont{$cpid} = $id; $byid{$id} = $cpid;
        if (exists $early{$cpid}) { my $est = delete $early{$cpid}; send_to($c, "ran\t$req\t$st\t$cpid"); record_exit($cpid, $est); next; }
      }
      send_to($c, "ran\t$req\t$st\t$cpid");
    } elsif (!record_exit($pid, $st)) {
      $early{$pid} = $st;
    }
  }
}

sub handle {
  my ($c, $line) = @_;
  my @f = split /\t/, $line, -1;
  my $cmd = $f[0] // '';
  if ($cmd eq 'run') {
    my (undef, $req, $id, $out, $err, $pidfile, $argv) = @f;
    for my $p ($out, $err) { mkfifo($p, 0600) or $! == EEXIST or do { send_to($c, "ran\t$req\t-1\t0"); return; } }
    unlink $pidfile;
    my @argv = split /\x1f/, $argv;
    my $pid = fork();
    if (!defined $pid) { send_to($c, "ran\t$req\t-1\t0"); return; }
    if ($pid == 0) {
      # A `stdin` FIFO beside the output ones (docker run -i) is the container's input; the
      # daemon holds its write end open before the start, so this open does not block.
      (my $in = $out) =~ s{[^/]*$}{stdin};
      if (-p $in) { open(STDIN, '<', $in) or POSIX::_exit(120); } else { open(STDIN, '<', '/dev/null'); }
      open(STDOUT, '+<', $out) or POSIX::_exit(121);
      open(STDERR, '+<', $err) or POSIX::_exit(122);
      exec { $argv[0] } @argv;
      POSIX::_exit(127);
    }
    $runc{$pid} = [$c, $req, $id, $pidfile];
  } elsif ($cmd eq 'kill') {
    my $cpid = $byid{$f[1] // ''};
    my $ok = ($cpid && kill($f[2], $cpid)) ? 1 : 0;
    send_to($c, "killed\t$f[1]\t$ok");
  } elsif ($cmd eq 'mount') {
    my (undef, $req, $src, $target, $fstype, $flags, $data) = @f;
    my ($s1, $t1, $f1, $d1) = ($src, $target, $fstype, $data);
    my $ok = syscall($nr->{mount}, $s1, $t1, $f1, 0 + $flags, $d1 eq '' ? 0 : $d1) == 0;
    send_to($c, "res\t$req\t" . ($ok ? '' : "$!"));
  } elsif ($cmd eq 'umount') {
    my (undef, $req, $target, $flags) = @f;
    my $t1 = $target;
    my $ok = syscall($nr->{umount2}, $t1, 0 + $flags) == 0;
    send_to($c, "res\t$req\t" . ($ok ? '' : "$!"));
  } elsif ($cmd eq 'netns') {
    my (undef, $req, $path) = @f;
    send_to($c, "res\t$req\t" . make_netns($path));
  } elsif ($cmd eq 'exec') {
    my (undef, $req, $argv) = @f;
    my @argv = split /\x1f/, $argv;
    my $errf = "$dir/exec-$req.err";
    my $pid = fork();
    if (!defined $pid) { send_to($c, "res\t$req\t-1\t"); return; }
    if ($pid == 0) {
      open(STDIN, '<', '/dev/null'); open(STDOUT, '>', '/dev/null'); open(STDERR, '>', $errf);
      exec { $argv[0] } @argv;
      POSIX::_exit(127);
    }
    $execs{$pid} = [$c, $req, $errf];
  } elsif ($cmd eq 'mkfifo') {
    my $ok = 1;
    for my $p (@f[1..$#f]) { mkfifo($p, 0600) or $! == EEXIST or $ok = 0; }
    send_to($c, "made\t$ok");
  } elsif ($cmd eq 'ping') {
    send_to($c, "pong\t$$");
  } elsif ($cmd eq 'quit') {
    $quitting = 1;
  } elsif ($cmd eq 'release') {
    $released = 1;
  }
}

# A new network namespace bound at PATH with lo up, made from inside the monitor:
# unshare into a fresh netns, bind it, set lo up, and return to the original one.
sub make_netns {
  my ($path) = @_;
  open(my $orig, '<', '/proc/self/ns/net') or return "open netns: $!";
  if (!-e $path) { open(my $t, '>', $path) or return "create $path: $!"; close $t; }
  syscall($nr->{unshare}, CLONE_NEWNET) == 0 or return "unshare: $!";
  my $err = '';
  my ($src, $dst, $none) = ('/proc/self/ns/net', $path, 'none');
  if (syscall($nr->{mount}, $src, $dst, $none, MS_BIND, 0) != 0) { $err = "bind $path: $!"; }
  elsif (!socket(my $s, 2, 2, 0)) { $err = "socket: $!"; }
  else {
    my $ifr = pack('a16 s x22', 'lo', IFF_UP_LOOPBACK);
    ioctl($s, SIOCSIFFLAGS, $ifr) or $err = "lo up: $!";
    close $s;
  }
  syscall($nr->{setns}, fileno($orig), CLONE_NEWNET) == 0 or die "monitor: setns back: $!\n";
  close $orig;
  if ($err ne '') { my $p = $path; syscall($nr->{umount2}, $p, 2); unlink $path; }
  return $err;
}

while (1) {
  reap();
  if (($quitting || ($released && !%clients)) && !%cont && !%runc) { unlink $path; unlink "$dir/monitor.pid"; exit 0; }
  my @ready = $sel->can_read(1);
  for my $fh (@ready) {
    if ($fh == $srv) {
      my $c = $srv->accept or next;
      $released = 0;
      $sel->add($c); $clients{fileno($c)} = $c; $buf{fileno($c)} = '';
      next;
    }
    my $n = sysread($fh, my $data, 65536);
    if (!$n) {
      next if !defined($n) && ($! == EINTR || $! == EAGAIN);
      $sel->remove($fh); delete $clients{fileno($fh)}; delete $buf{fileno($fh)}; close $fh;
      next;
    }
    $buf{fileno($fh)} .= $data;
    while ($buf{fileno($fh)} =~ s/^([^\n]*)\n//) { handle($fh, $1); }
  }
}
