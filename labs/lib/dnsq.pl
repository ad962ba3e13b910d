#!/usr/bin/perl
# N sequential A queries for NAME to SERVER:53 (default 127.0.0.11), after min(200, N/10)
# uncounted ones; prints one JSON line of latencies in ms. A Perl client has no JIT or garbage
# collector of its own in the timings, so they show the resolver rather than the client.
use strict; use warnings; use IO::Socket::INET; use Time::HiRes qw(time);
my ($n, $name, $server) = @ARGV; $server ||= '127.0.0.11';
my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $server, PeerPort => 53) or die "socket: $!";
my $q = sub { my $id = shift; my $qn = join('', map { chr(length $_) . $_ } split /\./, $name) . "\0";
  pack('n n n n n n', $id, 0x0100, 1, 0, 0, 0) . $qn . pack('n n', 1, 1) };
my (@t, $err); my $warm = $n / 10 > 200 ? 200 : int($n / 10);
for my $i (-$warm .. $n - 1) {
  my $msg = $q->($i & 0xffff); my $t0 = time; $s->send($msg);
  my $rin = ''; vec($rin, fileno($s), 1) = 1;
  if (select(my $rout = $rin, undef, undef, 1)) { my $buf; $s->recv($buf, 1500); push @t, (time - $t0) * 1000 if $i >= 0 } else { $err++ }
}
@t = sort { $a <=> $b } @t; my $p = sub { $t[int($_[0] / 100 * @t)] // $t[-1] };
printf "{\"n\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d}\n", scalar @t, $p->(50), $p->(90), $p->(99), $t[-1], $err // 0;
