#!/usr/bin/perl
# A NETLINK_ROUTE relay inside one network namespace, started by netns-netlink.ts as
# `nsenter --net=/run/netns/NS -- perl relay.pl`.
#
# Why a process, and why this one: a netlink socket acts in the namespace it was made in
# and Node cannot switch namespaces, so a sandbox's socket lives in a process that was
# started there. It does no more than open that socket and pass raw messages: the daemon
# builds and reads every rtnetlink message (messages.ts, encode.ts, relay-frames.ts).
# Perl because perl-base is on every Debian host (no compiler, no Python there), and a
# perl with Socket starts in a few ms in a few MB, where a node helper took ~50 ms of CPU
# and ~55 MB.
#
# Frames both ways: u32 little-endian length (of what follows), one kind byte, a body.
#   in  'B' batch:  u16 n, n × (u32 at, u16 len, path), then netlink messages. Each path is
#                   opened and its fd written as a u32 at byte `at` of the messages (a veth
#                   peer's or a macvlan's IFLA_NET_NS_FD: the fd must be ours). The messages
#                   are sent one at a time, each waiting for its ACK (all must ask
#                   NLM_F_ACK), stopping at the first refused one (as `ip -batch`).
#   out 'R' the kernel's messages carrying the batch's sequence numbers, 4-byte aligned.
#   out 'P' u32 at, text: a patch's path could not be opened; nothing of the batch was sent.
#   out 'L' an RTM_DELLINK seen in this namespace (RTMGRP_LINK), as the kernel sent it.
# Anything malformed from the daemon ends this process (exit 2, reason on stderr); the
# daemon closing its end (stdin EOF, also when it dies) ends it with exit 0.
use strict;
use warnings;
use Socket qw(SOCK_RAW);

use constant {
    AF_NETLINK   => 16,
    RTMGRP_LINK  => 1,
    NLMSG_ERROR  => 2,
    RTM_DELLINK  => 17,
    NLM_F_ACK    => 4,
    MSG_DONTWAIT => 0x40,
    MAX_FRAME    => 1 << 20,
    RECV_MAX     => 1 << 16,
};

sub fail { print STDERR "relay: $_[0]\n"; exit 2 }

binmode STDIN;
binmode STDOUT;
my $kernel = pack('S S L L', AF_NETLINK, 0, 0, 0);
socket(my $rq, AF_NETLINK, SOCK_RAW, 0) or fail("cannot open a netlink socket: $!");
bind($rq, $kernel) or fail("cannot bind the netlink socket: $!");
socket(my $ev, AF_NETLINK, SOCK_RAW, 0) or fail("cannot open the link-event socket: $!");
bind($ev, pack('S S L L', AF_NETLINK, 0, 0, RTMGRP_LINK)) or fail("cannot join RTMGRP_LINK: $!");

sub out {
    my ($kind, $body) = @_;
    my $f = pack('V', 1 + length $body) . $kind . $body;
    while (length $f) {
        my $n = syswrite(STDOUT, $f);
        defined $n or fail("cannot write to the daemon: $!");
        substr($f, 0, $n) = '';
    }
}

# A datagram's messages as [type, seq, bytes]; a short or overlong header ends the walk.
sub messages {
    my ($buf) = @_;
    my ($o, @m) = (0);
    while ($o + 16 <= length $buf) {
        my ($len, $type, undef, $seq) = unpack('L S S L', substr($buf, $o, 12));
        last if $len < 16 || $o + $len > length $buf;
        push @m, [$type, $seq, substr($buf, $o, $len)];
        $o += ($len + 3) & ~3;
    }
    return @m;
}

sub batch {
    my ($body) = @_;
    length $body >= 2 or fail('a batch frame without its patch count');
    my ($n, $o, @patches, @fhs) = (unpack('v', $body), 2);
    for (1 .. $n) {
        $o + 6 <= length $body or fail('a batch frame cut inside its patches');
        my ($at, $plen) = unpack('V v', substr($body, $o, 6));
        $o += 6;
        $o + $plen <= length $body or fail('a batch frame cut inside a patch path');
        push @patches, [$at, substr($body, $o, $plen)];
        $o += $plen;
    }
    my $msgs = substr($body, $o);
    for my $p (@patches) {
        my ($at, $path) = @$p;
        $at + 4 <= length $msgs or fail("a patch at byte $at is outside the batch");
        open(my $fh, '<', $path) or return out('P', pack('V', $at) . "cannot open $path: $!");
        push @fhs, $fh; # kept open until the batch ran
        substr($msgs, $at, 4) = pack('L', fileno $fh);
    }
    my ($replies, $m) = ('', 0);
    while ($m < length $msgs) {
        $m + 16 <= length $msgs or fail('a batch cut inside a netlink header');
        my ($len, undef, $flags, $seq) = unpack('L S S L', substr($msgs, $m, 12));
        $len >= 16 && $m + $len <= length $msgs or fail("a netlink message of bad length $len in a batch");
        $flags & NLM_F_ACK or fail("netlink message $seq asks no ACK, so its end could not be told");
        defined send($rq, substr($msgs, $m, $len), 0, $kernel) or fail("cannot send to the kernel: $!");
        my $err;
        until (defined $err) {
            defined recv($rq, my $buf, RECV_MAX, 0) or fail("cannot read from the kernel: $!");
            for my $r (messages($buf)) {
                next unless $r->[1] == $seq; # an earlier batch's, never ours
                $replies .= $r->[2] . ("\0" x (-length($r->[2]) & 3));
                $err = unpack('l', substr($r->[2], 16, 4)) if $r->[0] == NLMSG_ERROR && length $r->[2] >= 20;
            }
        }
        last if $err;
        $m += ($len + 3) & ~3;
    }
    out('R', $replies);
}

my $in = '';
while (1) {
    my $rin = '';
    vec($rin, fileno(STDIN), 1) = 1;
    vec($rin, fileno($ev), 1) = 1;
    my $ready = select(my $rout = $rin, undef, undef, undef);
    if ($ready < 0) { next if $!{EINTR}; fail("select: $!") }
    if (vec($rout, fileno($ev), 1)) {
        # ENOBUFS (events lost) is let pass: nothing could send them again.
        if (defined recv($ev, my $buf, RECV_MAX, MSG_DONTWAIT)) {
            out('L', $_->[2]) for grep { $_->[0] == RTM_DELLINK } messages($buf);
        }
    }
    next unless vec($rout, fileno(STDIN), 1);
    my $got = sysread(STDIN, $in, RECV_MAX, length $in);
    defined $got or fail("cannot read from the daemon: $!");
    if ($got == 0) {
        length $in and fail('the daemon closed its end in the middle of a frame');
        exit 0;
    }
    while (length $in >= 4) {
        my $len = unpack('V', $in);
        $len >= 1 && $len <= MAX_FRAME or fail("a frame of $len bytes (1 to " . MAX_FRAME . ' allowed)');
        last if length $in < 4 + $len;
        my $kind = substr($in, 4, 1);
        my $body = substr($in, 5, $len - 1);
        substr($in, 0, 4 + $len) = '';
        $kind eq 'B' or fail(sprintf('unknown frame kind 0x%02x', ord $kind));
        batch($body);
    }
}
