#!/usr/bin/perl
# shoal exec monitor: one per daemon (not per container). It is the child subreaper
# that every `runc run -d` runs under, so container processes are re-parented to it
# and it learns their exit statuses, which it records in EXITS/<id> and broadcasts
# to connected daemons. It outlives a daemon killed with SIGKILL; the restarted
# daemon reconnects and reads the exit files of containers that ended meanwhile.
# Written in Perl because Node cannot call prctl(2) or waitpid(2) on non-children,
# and perl-base is on every Debian host. Line protocol, tab-separated:
#   run REQ ID OUT ERR PIDFILE ARGV(\x1f-joined) -> ran REQ STATUS PID
#   kill ID SIGNUM                               -> killed ID 0|1
#   mkfifo PATH...                                -> made 0|1
#   ping                                          -> pong PID
#   quit                                          -> (exits when no container runs)
#   (broadcast)                                   -> exit ID PID WAITSTATUS
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use POSIX qw(:sys_wait_h :errno_h setsid mkfifo);

my $dir = shift @ARGV or die "usage: monitor.pl STATEDIR\n";
my %PRCTL = (x86_64 => 157, aarch64 => 167);
my $arch = (POSIX::uname())[4];
syscall($PRCTL{$arch} // die("monitor: unknown arch $arch\n"), 36, 1, 0, 0, 0) == 0
  or die "monitor: prctl(PR_SET_CHILD_SUBREAPER): $!\n";
mkdir "$dir/exits";
my $path = "$dir/monitor.sock";
unlink $path;
my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path, Listen => 128)
  or die "monitor: listen $path: $!\n";
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
$SIG{CHLD} = sub { };
$SIG{PIPE} = 'IGNORE';
$SIG{TERM} = sub { $quitting = 1 };

sub send_to { my ($c, $line) = @_; eval { syswrite($c, "$line\n") }; }
sub broadcast { my ($line) = @_; send_to($_, $line) for values %clients; }

sub record_exit {
  my ($pid, $st) = @_;
  my $id = delete $cont{$pid};
  return 0 unless defined $id;
  delete $byid{$id};
  if (open(my $f, '>', "$dir/exits/$id.tmp")) { print $f "$st $pid\n"; close $f; rename "$dir/exits/$id.tmp", "$dir/exits/$id"; }
  broadcast("exit\t$id\t$pid\t$st");
  return 1;
}

sub reap {
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    my $st = $?;
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
      open(STDIN, '<', '/dev/null');
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
  } elsif ($cmd eq 'mkfifo') {
    my $ok = 1;
    for my $p (@f[1..$#f]) { mkfifo($p, 0600) or $! == EEXIST or $ok = 0; }
    send_to($c, "made\t$ok");
  } elsif ($cmd eq 'ping') {
    send_to($c, "pong\t$$");
  } elsif ($cmd eq 'quit') {
    $quitting = 1;
  }
}

while (1) {
  reap();
  if ($quitting && !%cont && !%runc) { unlink $path; unlink "$dir/monitor.pid"; exit 0; }
  my @ready = $sel->can_read(1);
  for my $fh (@ready) {
    if ($fh == $srv) {
      my $c = $srv->accept or next;
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
