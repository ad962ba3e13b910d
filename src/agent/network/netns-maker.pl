#!/usr/bin/perl
# shoal netns maker: one per network agent, a child of the daemon. It makes and deletes
# named network namespaces (/run/netns/NAME) as `ip netns add` / `ip netns delete` do,
# but in this one long-lived process: a task's netns (with `lo` up) costs ≈ 1 ms of CPU
# here against ≈ 5 ms for forking `ip` twice (20 tasks attached at once: ≈ 100 ms of the
# lab's 2 cores). Perl because Node cannot call unshare(2)/setns(2)/mount(2), and
# perl-base is on every Debian host (as for the socket broker and the netlink relay).
#
# Requests, one a line on stdin:
#   add ID NAME [lo]    a new netns bound at /run/netns/NAME (refused if the file exists); `lo`: loopback up
#   del ID NAME         unmounted (lazily) and its file removed; a missing one is an error, as for `ip`
#   nl ID NAME PATCHES HEX
#                       rtnetlink messages (HEX, built by the daemon: net/netlink/encode.ts, each
#                       with NLM_F_ACK) sent one by one in netns NAME, each waiting for its ACK;
#                       PATCHES is `-` or `AT:DEV,…`: the index of device DEV written as a u32 at
#                       byte AT first (an address's interface)
#   nf ID NAME LAST HEX one nf_tables batch (HEX, built by the daemon: net/lb/vip-netlink.ts) sent in
#                       netns NAME at once; the kernel takes all of it or none. Its answers are
#                       read until the one for sequence number LAST (the message that asked for
#                       an ACK): any error before it is a refused message
# Replies, one a line on stdout, in request order:
#   ok ID
#   err ID TEXT
#   nlerr ID DONE ERRNO  (nl: message DONE, counting from 0, was refused with ERRNO; those before it stay.
#                        nf: the message with sequence number DONE was refused, and nothing was applied)
# It exits when stdin closes.
use strict;
use warnings;
use POSIX ();
use Fcntl qw(O_RDONLY O_CREAT O_EXCL);
use Socket qw(AF_INET SOCK_DGRAM SOCK_RAW);

my %NR = (
  x86_64 => { unshare => 272, mount => 165, umount2 => 166, setns => 308 },
  aarch64 => { unshare => 97, mount => 40, umount2 => 39, setns => 268 },
);
my $nr = $NR{(POSIX::uname())[4]} // die "netns-maker: unknown arch\n";
use constant { CLONE_NEWNET => 0x40000000, MS_BIND => 4096, MS_REC => 16384, MS_SHARED => 1 << 20, MNT_DETACH => 2,
  SIOCGIFFLAGS => 0x8913, SIOCSIFFLAGS => 0x8914, SIOCGIFINDEX => 0x8933, IFF_UP => 1,
  AF_NETLINK => 16, NETLINK_ROUTE => 0, NETLINK_NETFILTER => 12, NLMSG_ERROR => 2, SOL_SOCKET => 1, SO_RCVTIMEO => 20, SO_SNDBUFFORCE => 32 };
my $DIR = '/run/netns';

open(my $home, '<', '/proc/self/ns/net') or die "netns-maker: own netns: $!\n";
$| = 1;

# syscall(2) wants writable scalars for its string arguments.
sub sys { my ($name, @args) = @_; my @a = @args; return syscall($nr->{$name}, @a) }

# As `ip netns add` does each time: /run/netns a shared mount, so a netns mounted there is
# seen in every mount namespace (a container's, another daemon's) made from this one.
sub shared_dir {
  mkdir $DIR, 0755 unless -d $DIR;
  my ($none, $dir) = ('none', $DIR);
  return if sys('mount', $none, $dir, $none, MS_SHARED | MS_REC, 0) == 0;
  die "cannot make $DIR a shared mount: $!\n" unless $! == POSIX::EINVAL;
  sys('mount', $dir, $dir, $none, MS_BIND | MS_REC, 0) == 0 or die "cannot bind $DIR on itself: $!\n";
  sys('mount', $none, $dir, $none, MS_SHARED | MS_REC, 0) == 0 or die "cannot make $DIR a shared mount: $!\n";
}

sub lo_up {
  socket(my $s, AF_INET, SOCK_DGRAM, 0) or die "cannot open a socket: $!\n";
  my $ifr = pack('Z16 x24', 'lo');
  ioctl($s, SIOCGIFFLAGS, $ifr) or die "cannot read the flags of lo: $!\n";
  my $flags = unpack('x16 s', $ifr);
  $ifr = pack('Z16 s x22', 'lo', $flags | IFF_UP);
  ioctl($s, SIOCSIFFLAGS, $ifr) or die "cannot bring lo up: $!\n";
  close $s;
}

sub add {
  my ($name, $lo) = @_;
  shared_dir();
  my $path = "$DIR/$name";
  sysopen(my $f, $path, O_RDONLY | O_CREAT | O_EXCL, 0) or die "cannot create namespace file \"$path\": $!\n";
  close $f;
  my $err;
  if (sys('unshare', CLONE_NEWNET) != 0) {
    $err = "failed to create a new network namespace \"$name\": $!\n";
  } else {
    my ($src, $none) = ('/proc/self/ns/net', 'none');
    if (sys('mount', $src, $path, $none, MS_BIND, 0) != 0) { $err = "bind /proc/self/ns/net -> $path failed: $!\n" }
    elsif ($lo) { eval { lo_up(); 1 } or $err = $@ }
    # Back home whatever happened: the next request must not act in this netns.
    # Cannot get back: end (the daemon fails what is in flight; later requests go through `ip`).
    if (sys('setns', fileno($home), CLONE_NEWNET) != 0) { print STDERR "netns-maker: cannot return to its own netns: $!\n"; POSIX::_exit(1) }
  }
  return unless defined $err;
  my $p = $path;
  sys('umount2', $p, MNT_DETACH);
  unlink $path;
  die $err;
}

# Sends the messages in netns NAME; returns (done, errno): errno 0 when all were taken.
sub nl {
  my ($name, $patches, $hex) = @_;
  die "bad messages\n" unless defined $hex && $hex =~ /^(?:[0-9a-f]{2})+$/;
  my $buf = pack('H*', $hex);
  open(my $ns, '<', "$DIR/$name") or die "cannot open netns $name: $!\n";
  sys('setns', fileno($ns), CLONE_NEWNET) == 0 or die "cannot enter netns $name: $!\n";
  my ($done, $errno) = (0, 0);
  my $ok = eval {
    if ($patches ne '-') {
      socket(my $u, AF_INET, SOCK_DGRAM, 0) or die "cannot open a socket: $!\n";
      for my $p (split /,/, $patches) {
        my ($at, $dev) = $p =~ /^(\d+):([A-Za-z0-9_.@-]{1,15})$/ or die "bad patch \"$p\"\n";
        die "patch outside the messages\n" if $at + 4 > length $buf;
        my $ifr = pack('Z16 x24', $dev);
        if (!ioctl($u, SIOCGIFINDEX, $ifr)) { $errno = $! + 0; return 1 }
        substr($buf, $at, 4) = pack('V', unpack('x16 l', $ifr));
      }
    }
    socket(my $s, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) or die "cannot open rtnetlink: $!\n";
    for (my $off = 0; $off < length $buf; $done++) {
      my $len = unpack('V', substr($buf, $off, 4));
      die "bad message length at byte $off\n" if $len < 16 || $off + $len > length $buf;
      defined send($s, substr($buf, $off, $len), 0) or die "cannot send: $!\n";
      my $r;
      defined recv($s, $r, 65536, 0) or die "cannot read the answer: $!\n";
      my $type = unpack('x4 v', $r);
      if ($type == NLMSG_ERROR) { my $e = unpack('x16 l', $r); if ($e != 0) { $errno = -$e; last } }
      $off += $len;
    }
    close $s;
    1;
  };
  my $err = $@;
  if (sys('setns', fileno($home), CLONE_NEWNET) != 0) { print STDERR "netns-maker: cannot return to its own netns: $!\n"; POSIX::_exit(1) }
  die $err unless $ok;
  return ($done, $errno);
}

# Sends one nf_tables batch in netns NAME; returns (seq, errno): errno 0 when the kernel took it.
sub nf {
  my ($name, $last, $hex) = @_;
  die "bad batch\n" unless defined $hex && $hex =~ /^(?:[0-9a-f]{2})+$/ && defined $last && $last =~ /^\d{1,9}$/;
  my $buf = pack('H*', $hex);
  open(my $ns, '<', "$DIR/$name") or die "cannot open netns $name: $!\n";
  sys('setns', fileno($ns), CLONE_NEWNET) == 0 or die "cannot enter netns $name: $!\n";
  my ($seq, $errno) = (0, 0);
  my $ok = eval {
    socket(my $s, AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER) or die "cannot open nfnetlink: $!\n";
    # An answer that never comes must not stop the helper (and every netns after it).
    setsockopt($s, SOL_SOCKET, SO_RCVTIMEO, pack('q q', 5, 0)) or die "cannot set a receive timeout: $!\n";
    # A batch goes in one message: room for a big table (the default buffer takes ~200 KB), as nft does.
    setsockopt($s, SOL_SOCKET, SO_SNDBUFFORCE, pack('i', length($buf) + 65536)) or die "cannot size the send buffer: $!\n" if length($buf) > 65536;
    defined send($s, $buf, 0) or die "cannot send the batch: $!\n";
    READ: while (1) {
      my $r;
      defined recv($s, $r, 65536, 0) or die "no answer from nf_tables: $!\n";
      for (my $off = 0; $off + 16 <= length $r;) {
        my ($len, $type) = unpack('V v', substr($r, $off, 6));
        last if $len < 16;
        if ($type == NLMSG_ERROR && $off + 32 <= length $r) {
          my $e = unpack('l', substr($r, $off + 16, 4));
          my $about = unpack('V', substr($r, $off + 28, 4));   # the sequence number of the message answered
          ($seq, $errno) = ($about, -$e) if $e != 0 && !$errno;
          # The last message's answer ends it; so does an error about the batch itself (seq 0).
          last READ if $about == $last || ($e != 0 && $about == 0);
        }
        $off += ($len + 3) & ~3;
      }
    }
    close $s;
    1;
  };
  my $err = $@;
  if (sys('setns', fileno($home), CLONE_NEWNET) != 0) { print STDERR "netns-maker: cannot return to its own netns: $!\n"; POSIX::_exit(1) }
  die $err unless $ok;
  return ($seq, $errno);
}

sub del {
  my ($name) = @_;
  my $path = "$DIR/$name";
  sys('umount2', $path, MNT_DETACH);
  unlink $path or die "cannot remove namespace file \"$path\": $!\n";
}

# One request line: its reply line.
sub handle {
  my ($line) = @_;
  my ($op, $id, $name, $opt, $hex) = split / /, $line;
  $id //= 0;
  return "err $id bad request: $line\n" if !defined $name || $name !~ /^[A-Za-z0-9_.-]+$/;
  my $reply = "ok $id";
  my $ok = eval {
    if ($op eq 'add') { add($name, ($opt // '') eq 'lo') }
    elsif ($op eq 'del') { del($name) }
    elsif ($op eq 'nl') {
      my ($done, $errno) = nl($name, $opt // '', $hex);
      $reply = "nlerr $id $done $errno" if $errno;
    }
    elsif ($op eq 'nf') {
      my ($seq, $errno) = nf($name, $opt, $hex);
      $reply = "nlerr $id $seq $errno" if $errno;
    }
    else { die "unknown op \"$op\"\n" }
    1;
  };
  return "$reply\n" if $ok;
  (my $e = $@) =~ s/\s+$//;
  $e =~ s/\n/ /g;
  return "err $id $e\n";
}

# Every request that came in one read is answered in one write: the daemon then goes on
# with the tasks attached together in one turn, so their next steps (the VIP tables' nft
# runs, the veths) go out together too (one shell batch, one helper write).
my $in = '';
while (1) {
  my $n = sysread(STDIN, $in, 65536, length $in);
  last unless $n;
  my $out = '';
  while ((my $nl = index($in, "\n")) >= 0) {
    $out .= handle(substr($in, 0, $nl));
    substr($in, 0, $nl + 1) = '';
  }
  if (length $out) {
    for (my $off = 0; $off < length $out;) {
      my $w = syswrite(STDOUT, $out, length($out) - $off, $off);
      die "netns-maker: cannot answer: $!\n" unless defined $w;
      $off += $w;
    }
  }
}
