#!/usr/bin/perl
# A netperf-style TCP request/response probe for the overlay benchmark (network-overlay.ts).
# Perl, like labs/lib/dnsq.pl: no JIT or GC pauses of its own in the figures.
#
#   tcprr.pl serve PORT SECONDS      echo 1-byte requests on every connection; exits after SECONDS;
#                                    prints `ready PORT` once listening
#   tcprr.pl rr ADDR PORT N          one connection, N sequential 1-byte request/response rounds
#   tcprr.pl connect ADDR PORT N     N sequential connects (SYN → SYN-ACK: the kernel answers)
#
# The client prints one JSON line: {"n":N,"p50_us":…,"p90_us":…,"min_us":…,"errors":E}.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time);

my $mode = shift // die "usage: tcprr.pl serve|rr|connect ...\n";

sub report {
  my ($errors, @us) = @_;
  @us = sort { $a <=> $b } @us;
  my $n = scalar @us;
  my $q = sub { $n ? $us[int(($n - 1) * $_[0])] : -1 };
  printf "{\"n\":%d,\"p50_us\":%.1f,\"p90_us\":%.1f,\"min_us\":%.1f,\"errors\":%d}\n", $n, $q->(0.5), $q->(0.9), $n ? $us[0] : -1, $errors;
}

if ($mode eq 'serve') {
  my ($port, $secs) = @ARGV;
  my $srv = IO::Socket::INET->new(LocalPort => $port, Listen => 64, ReuseAddr => 1, Proto => 'tcp') or die "listen $port: $!\n";
  $SIG{ALRM} = sub { exit 0 };
  alarm($secs);
  $SIG{CHLD} = 'IGNORE';
  print "ready ", $srv->sockport, "\n"; # PORT 0: the kernel picks one
  STDOUT->flush();
  while (my $c = $srv->accept()) {
    my $pid = fork();
    next if !defined $pid;
    if ($pid == 0) {
      setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
      my $b;
      while ((sysread($c, $b, 1) // 0) == 1) { syswrite($c, $b, 1) == 1 or last; }
      exit 0;
    }
    close $c;
  }
  exit 0;
}

my ($addr, $port, $n) = @ARGV;
die "usage: tcprr.pl $mode ADDR PORT N\n" unless defined $n;
my (@us, $errors);
$errors = 0;
if ($mode eq 'rr') {
  my $c = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Proto => 'tcp', Timeout => 5) or die "connect $addr:$port: $!\n";
  setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
  my $b;
  for my $i (1 .. 50) { syswrite($c, 'x', 1); sysread($c, $b, 1); } # warm: caches, routes, neighbours
  for my $i (1 .. $n) {
    my $t0 = time();
    if (syswrite($c, 'x', 1) != 1 || (sysread($c, $b, 1) // 0) != 1) { $errors++; last; }
    push @us, (time() - $t0) * 1e6;
  }
} elsif ($mode eq 'connect') {
  for my $i (1 .. $n + 10) {
    my $t0 = time();
    my $c = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Proto => 'tcp', Timeout => 2);
    my $dt = (time() - $t0) * 1e6;
    if (!$c) { $errors++; next; }
    push @us, $dt if $i > 10; # the first few warm the path
    setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)); # RST: no TIME_WAIT pile-up
    close $c;
  }
} else {
  die "tcprr.pl: unknown mode $mode\n";
}
report($errors, @us);
