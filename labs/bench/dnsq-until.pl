#!/usr/bin/perl
# A query for NAME to SERVER:53 (default 127.0.0.11) every GAP_US microseconds (after its
# answer) until the file STOP exists or MAX_S seconds passed; prints one JSON line of
# latencies in ms. The same client as dnsq.pl (Perl: no JIT or garbage collector of its
# own in the timings), paced so that it measures the resolver while the daemon is busy
# without taking a core itself. An unanswered query (1 s) counts as an error and as a
# latency of 1000 ms, so a stalled resolver shows in the tail rather than vanishing.
#   perl dnsq-until.pl NAME STOP GAP_US MAX_S [SERVER]
use strict; use warnings; use IO::Socket::INET; use Time::HiRes qw(time usleep);
my ($name, $stop, $gap, $max, $server) = @ARGV; $server ||= '127.0.0.11';
my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $server, PeerPort => 53) or die "socket: $!";
my $qn = join('', map { chr(length $_) . $_ } split /\./, $name) . "\0";
my (@t, $err); my $start = time; my $i = 0;
while (1) {
  if ($i % 20 == 0) { last if -e $stop || time - $start > $max; }
  my $msg = pack('n n n n n n', $i & 0xffff, 0x0100, 1, 0, 0, 0) . $qn . pack('n n', 1, 1);
  my $t0 = time; $s->send($msg);
  my $rin = ''; vec($rin, fileno($s), 1) = 1;
  if (select(my $rout = $rin, undef, undef, 1)) { my $buf; $s->recv($buf, 1500); push @t, (time - $t0) * 1000 } else { $err++; push @t, 1000 }
  $i++;
  usleep($gap) if $gap > 0;
}
@t = sort { $a <=> $b } @t; my $p = sub { $t[int($_[0] / 100 * @t)] // $t[-1] // 0 };
printf "{\"n\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d,\"seconds\":%.1f}\n", scalar @t, $p->(50), $p->(90), $p->(99), $t[-1] // 0, $err // 0, time - $start;
