#!/usr/bin/perl
# Second reference for Debian versions, for volume: Dpkg::Version from libdpkg-perl (the
# dpkg project's own Perl implementation of the same algorithm). One "A<TAB>B" request per
# stdin line; answers version_compare(A, B) as -1, 0 or 1.
use strict;
use warnings;
use Dpkg::Version qw(version_compare);
$| = 1;
while (my $line = <STDIN>) {
    chomp $line;
    my ($a, $b) = split /\t/, $line, 2;
    my $c = version_compare($a, $b);
    print(($c > 0) - ($c < 0), "\n");
}
