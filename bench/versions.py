"""Version-scheme throughput: parse (cold), key lookup (warm), sort and range checks.

    .venv/bin/python bench/versions.py [--count 20000] [--seed 1]

For every scheme, makes ``--count`` distinct realistic versions (seeded, reproducible), then
prints µs per version to parse with the cache emptied, µs per warm key lookup (the cached
path matching takes), ms to sort all of them, and µs per ``osv_affected`` check against a
two-event range. For pep440 the peer ``packaging.version.Version`` (uncached, what a naive
matcher would call per comparison) is timed on the same strings and the ratio printed.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from packaging.version import Version

from stockade.scanner.matcher.versions import (
    SCHEMES,
    OsvEvent,
    apk,
    composer,
    dpkg,
    gem,
    golang,
    maven,
    nuget,
    osv_affected,
    pep440,
    rpm,
    semver,
)


def _nums(rng: random.Random, n: int) -> str:
    return ".".join(str(rng.choice([0, 1, 2, 3, 5, 10, 12, 27, 100, 2023])) for _ in range(n))


def _dpkg(rng: random.Random) -> str:
    epoch = rng.choice(["", "", "", "1:", "2:"])
    rev = rng.choice(["1", "2", "1+deb12u1", "0ubuntu0.22.04.1", "3~bpo11+1"])
    return f"{epoch}{_nums(rng, rng.randint(1, 4))}{rng.choice(['', '~rc1', '+dfsg'])}-{rev}"


def _rpm(rng: random.Random) -> str:
    epoch = rng.choice(["", "", "1:"])
    rel = f"{rng.randint(1, 300)}.el{rng.choice([7, 8, 9])}{rng.choice(['', '_4', '_2.1'])}"
    return f"{epoch}{_nums(rng, rng.randint(1, 4))}{rng.choice(['', '~rc1', '^20230101git'])}-{rel}"


def _apk(rng: random.Random) -> str:
    suffix = rng.choice(["", "", "_rc1", "_p2", "_git20230101", "a"])
    return f"{_nums(rng, rng.randint(1, 4))}{suffix}-r{rng.randint(0, 12)}"


def _pep440(rng: random.Random) -> str:
    return _nums(rng, rng.randint(1, 3)) + rng.choice(["", "", "rc1", "b2", ".post1", ".dev3"])


def _semver(rng: random.Random) -> str:
    return _nums(rng, 3) + rng.choice(["", "", "-beta.1", "-rc.2", "-alpha"])


def _go(rng: random.Random) -> str:
    base = "v" + _nums(rng, 3)
    return base + rng.choice(["", "", "+incompatible", "-0.20230101000000-abcdefabcdef"])


def _maven(rng: random.Random) -> str:
    return _nums(rng, rng.randint(1, 4)) + rng.choice(["", "", "-SNAPSHOT", ".Final", "-rc1"])


def _composer(rng: random.Random) -> str:
    return (
        rng.choice(["", "v"])
        + _nums(rng, rng.randint(2, 3))
        + rng.choice(["", "", "-RC1", "-beta2"])
    )


def _nuget(rng: random.Random) -> str:
    return _nums(rng, rng.randint(2, 4)) + rng.choice(["", "", "-preview.1", "-rc2"])


def _gem(rng: random.Random) -> str:
    return _nums(rng, rng.randint(1, 4)) + rng.choice(["", "", ".rc1", ".beta2", ".pre"])


GENERATORS: dict[str, tuple[Callable[[random.Random], str], Callable[[], None]]] = {
    "dpkg": (_dpkg, dpkg.dpkg_key.cache_clear),
    "rpm": (_rpm, rpm.rpm_key.cache_clear),
    "apk": (_apk, apk.apk_key.cache_clear),
    "pep440": (_pep440, pep440.pep440_key.cache_clear),
    "semver": (
        _semver,
        lambda: (semver.semver_key.cache_clear(), semver.parse_semver.cache_clear()),
    ),
    "go": (_go, lambda: (golang.go_key.cache_clear(), golang.canonical.cache_clear())),
    "maven": (_maven, lambda: (maven.maven_key.cache_clear(), maven.maven_items.cache_clear())),
    "gem": (_gem, lambda: (gem.gem_key.cache_clear(), gem.segments.cache_clear())),
    "composer": (_composer, composer.composer_key.cache_clear),
    "nuget": (_nuget, nuget.nuget_key.cache_clear),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{'scheme':8} {'distinct':>8} {'parse µs':>9} {'warm µs':>8} {'sort ms':>8} {'osv µs':>7}"
    )
    for name, (make, clear) in GENERATORS.items():
        rng = random.Random(args.seed)
        versions = list(dict.fromkeys(make(rng) for _ in range(args.count)))
        scheme = SCHEMES[name]
        clear()
        start = time.perf_counter()
        for v in versions:
            scheme.key(v)
        parse_us = (time.perf_counter() - start) / len(versions) * 1e6
        start = time.perf_counter()
        for v in versions:
            scheme.key(v)
        warm_us = (time.perf_counter() - start) / len(versions) * 1e6
        start = time.perf_counter()
        sorted(versions, key=scheme.key)
        sort_ms = (time.perf_counter() - start) * 1e3
        ordered = sorted(versions, key=scheme.key)
        events = [
            OsvEvent("introduced", ordered[len(ordered) // 4]),
            OsvEvent("fixed", ordered[len(ordered) // 2]),
        ]
        start = time.perf_counter()
        for v in versions:
            osv_affected(scheme, v, events)
        osv_us = (time.perf_counter() - start) / len(versions) * 1e6
        print(
            f"{name:8} {len(versions):8d} {parse_us:9.2f} {warm_us:8.3f} {sort_ms:8.1f} {osv_us:7.2f}"
        )
        if name == "pep440":
            start = time.perf_counter()
            for v in versions:
                Version(v)
            peer_us = (time.perf_counter() - start) / len(versions) * 1e6
            print(
                f"         peer packaging.Version uncached {peer_us:.2f} µs: warm key is "
                f"{peer_us / warm_us:.0f}x faster"
            )


if __name__ == "__main__":
    main()
