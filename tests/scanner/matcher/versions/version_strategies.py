"""Hypothesis strategies that make versions of every scheme.

Each draws from a deliberately small alphabet of meaningful pieces (separators, ``~``, ``^``,
leading zeros, qualifiers, pre-release tags) so generated pairs often share prefixes and hit
the corner cases where implementations disagree, not just random noise.
"""

from __future__ import annotations

from hypothesis import strategies as st

small_numbers = st.sampled_from(["0", "1", "2", "9", "10", "00", "01", "010", "123"])


def _joined(pieces: st.SearchStrategy[str], min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.lists(pieces, min_size=min_size, max_size=max_size).map("".join)


# --- dpkg -----------------------------------------------------------------------------

_dpkg_piece = st.sampled_from(
    ["0", "1", "2", "10", "01", "a", "b", "Z", "rc", ".", "+", "~", "~~", "ubuntu", "dfsg", "."]
)
_dpkg_upstream = st.builds(lambda d, rest: d + rest, small_numbers, _joined(_dpkg_piece, 0, 5))
_dpkg_revision = _joined(
    st.sampled_from(["0", "1", "2", "10", "a", "b", ".", "+", "~", "deb11u1", "ubuntu"]), 1, 4
)


@st.composite
def dpkg_versions(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "", "", "0:", "1:", "2:"]))
    upstream = draw(_dpkg_upstream)
    if draw(st.booleans()):
        if draw(st.booleans()):
            upstream += "-" + draw(_joined(st.sampled_from(["1", "a", "~", "."]), 1, 2))
        return f"{epoch}{upstream}-{draw(_dpkg_revision)}"
    return epoch + upstream


# --- rpm ------------------------------------------------------------------------------

_rpm_piece = st.sampled_from(
    [
        "0",
        "1",
        "2",
        "10",
        "01",
        "a",
        "b",
        "Z",
        "rc",
        ".",
        "_",
        "+",
        "~",
        "^",
        "~~",
        "^^",
        "el8",
        "%",
    ]
)
rpm_parts = _joined(_rpm_piece, 1, 6)


@st.composite
def rpm_evrs(draw: st.DrawFn) -> tuple[str | None, str, str | None]:
    epoch = draw(st.sampled_from([None, None, "0", "1", "2", "10"]))
    release = draw(st.one_of(st.none(), rpm_parts))
    return epoch, draw(rpm_parts), release


# --- semver / npm ---------------------------------------------------------------------

_semver_num = st.sampled_from(["0", "1", "2", "3", "10"])
_pre_id = st.sampled_from(["alpha", "beta", "rc", "0", "1", "2", "10", "a1", "1a", "-", "x-y"])
_pre = st.lists(_pre_id, min_size=1, max_size=3).map(".".join)
_build = st.lists(st.sampled_from(["build", "1", "001", "sha-abc"]), min_size=1, max_size=2).map(
    ".".join
)


@st.composite
def semvers(draw: st.DrawFn) -> str:
    core = ".".join(draw(_semver_num) for _ in range(3))
    if draw(st.booleans()):
        core += "-" + draw(_pre)
    if draw(st.integers(0, 4)) == 0:
        core += "+" + draw(_build)
    return core


semver_noise = _joined(
    st.sampled_from(["0", "1", "01", ".", "-", "+", "a", "v", "=", " ", "x", "99999999999999999"]),
    1,
    9,
)


@st.composite
def npm_partials(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(["0", "1", "2", "x", "X", "*"]), min_size=1, max_size=3))
    text = ".".join(parts)
    if len(parts) == 3 and draw(st.integers(0, 3)) == 0:
        text += "-" + draw(_pre)
    return draw(st.sampled_from(["", "", "", "v", "="])) + text


@st.composite
def npm_ranges(draw: st.DrawFn) -> str:
    alternatives = []
    for _ in range(draw(st.integers(1, 2))):
        if draw(st.integers(0, 4)) == 0:
            alternatives.append(f"{draw(npm_partials())} - {draw(npm_partials())}")
            continue
        comparators = []
        for _ in range(draw(st.integers(1, 2))):
            op = draw(st.sampled_from(["", "=", "<", "<=", ">", ">=", "~", "^", "~>"]))
            gap = draw(st.sampled_from(["", "", " "]))
            comparators.append(op + gap + draw(npm_partials()))
        alternatives.append(" ".join(comparators))
    return " || ".join(alternatives)


# --- go -------------------------------------------------------------------------------

_go_pre = st.lists(
    st.sampled_from(["alpha", "beta", "rc", "0", "1", "2", "10", "pre", "x-y"]),
    min_size=1,
    max_size=3,
).map(".".join)
_go_pseudo = st.sampled_from(
    [
        "v0.0.0-20191109021931-daa7c04131f5",
        "v0.0.0-20200101000000-000000000000",
        "v1.2.4-0.20191109021931-daa7c04131f5",
        "v1.2.4-pre.0.20191109021931-daa7c04131f5",
        "v2.0.0-20191109021931-daa7c04131f5+incompatible",
    ]
)


@st.composite
def go_versions(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(_go_pseudo)
    numbers = [draw(_semver_num) for _ in range(draw(st.sampled_from([1, 2, 3, 3, 3, 3])))]
    text = "v" + ".".join(numbers)
    if len(numbers) == 3:
        if draw(st.booleans()):
            text += "-" + draw(_go_pre)
        if draw(st.integers(0, 3)) == 0:
            text += draw(st.sampled_from(["+incompatible", "+build.1", "+meta"]))
    return text


go_noise = _joined(
    st.sampled_from(["v", "0", "1", "01", ".", "-", "+", "a", "incompatible", "20191109021931"]),
    1,
    9,
)


# --- maven ----------------------------------------------------------------------------

_maven_token = st.sampled_from(
    [
        "0",
        "1",
        "2",
        "10",
        "010",
        "1234567890",
        "12345678901234567890123",
        "alpha",
        "a",
        "b",
        "m",
        "beta",
        "milestone",
        "rc",
        "cr",
        "snapshot",
        "SNAPSHOT",
        "ga",
        "final",
        "release",
        "RELEASE",
        "sp",
        "foo",
        "xyz",
        "Alpha",
    ]
)
_maven_sep = st.sampled_from([".", ".", "-", "-", ""])


@st.composite
def maven_versions(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(_maven_token, min_size=1, max_size=5))
    text = tokens[0]
    for token in tokens[1:]:
        text += draw(_maven_sep) + token
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from([".", "-"])) + text
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.sampled_from([".", "-", ".0", "-0"]))
    return text


_maven_bound = st.sampled_from(["1", "1.0", "1.5", "2", "2.0-rc1", "3.0.1", "1.0-SNAPSHOT", "4"])


@st.composite
def maven_ranges(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 2))):
        shape = draw(st.integers(0, 3))
        low, high = draw(_maven_bound), draw(_maven_bound)
        left, right = draw(st.sampled_from("[(")), draw(st.sampled_from("])"))
        if shape == 0:
            parts.append(f"[{low}]")
        elif shape == 1:
            parts.append(f"{left},{high}{right}")
        elif shape == 2:
            parts.append(f"{left}{low},{right}")
        else:
            parts.append(f"{left}{low},{high}{right}")
    return ",".join(parts)


# --- rubygems -------------------------------------------------------------------------

_gem_segment = st.sampled_from(
    ["0", "1", "2", "10", "01", "a", "b", "pre", "rc", "beta", "A", "1a"]
)


@st.composite
def gem_versions(draw: st.DrawFn) -> str:
    segs = [draw(small_numbers), *draw(st.lists(_gem_segment, max_size=4))]
    text = ".".join(segs)
    if draw(st.integers(0, 5)) == 0:
        text += "-" + draw(st.sampled_from(["1", "pre", "rc.1", "a-b"]))
    return text


gem_noise = _joined(st.sampled_from(["0", "1", ".", "-", "a", " ", "_", "+", "..", "A"]), 0, 7)


@st.composite
def gem_requirements(draw: st.DrawFn) -> str:
    reqs = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["", "=", "!=", ">", "<", ">=", "<=", "~>", "~>"]))
        reqs.append(op + draw(st.sampled_from(["", " "])) + draw(gem_versions()))
    return ",".join(reqs)


# --- apk ------------------------------------------------------------------------------


@st.composite
def apk_versions(draw: st.DrawFn) -> str:
    text = draw(small_numbers)
    for _ in range(draw(st.integers(0, 3))):
        text += "." + draw(small_numbers)
    if draw(st.integers(0, 3)) == 0:
        text += draw(st.sampled_from("abz"))
    for _ in range(draw(st.integers(0, 2))):
        text += "_" + draw(
            st.sampled_from(["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"])
        )
        if draw(st.booleans()):
            text += draw(small_numbers)
    if draw(st.integers(0, 5)) == 0:
        text += "~" + draw(st.sampled_from(["abc123", "0f", "deadbeef"]))
    if draw(st.booleans()):
        text += "-r" + draw(small_numbers)
    return text


# --- pep440 ---------------------------------------------------------------------------


@st.composite
def pep440_versions(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(["", "", "1!"])) + ".".join(
        draw(small_numbers) for _ in range(draw(st.integers(1, 3)))
    )
    if draw(st.integers(0, 2)) == 0:
        text += draw(st.sampled_from(["a", "b", "rc", "alpha", "c"])) + draw(small_numbers)
    if draw(st.integers(0, 3)) == 0:
        text += ".post" + draw(small_numbers)
    if draw(st.integers(0, 3)) == 0:
        text += ".dev" + draw(small_numbers)
    if draw(st.integers(0, 5)) == 0:
        text += "+" + draw(st.sampled_from(["local", "ubuntu.1", "1"]))
    return text


@st.composite
def maven_release_versions(draw: st.DrawFn) -> str:
    """Versions shaped like published artifacts: numbers, then at most one "-qualifier".

    ``ComparableVersion`` is not transitive on arbitrary strings, nor when a qualifier
    follows a dot (see test_version_maven.py::test_reference_itself_is_not_transitive), so
    the total-order property is checked on this subset.
    """
    text = ".".join(
        draw(st.sampled_from(["0", "1", "2", "10"])) for _ in range(draw(st.integers(1, 4)))
    )
    if draw(st.booleans()):
        qualifier = draw(
            st.sampled_from(
                [
                    "alpha",
                    "beta",
                    "milestone",
                    "rc",
                    "cr",
                    "SNAPSHOT",
                    "Final",
                    "GA",
                    "RELEASE",
                    "sp",
                    "jre",
                    "android",
                    "incubating",
                ]
            )
        )
        text += "-" + qualifier
        if draw(st.booleans()):
            text += draw(st.sampled_from(["", "-", "."])) + draw(st.sampled_from(["1", "2", "10"]))
    return text


# --- wide variants: any text over each scheme's alphabet, for the reference comparisons ---

dpkg_wide = st.builds(
    lambda head, tail, rev: head + tail + (f"-{rev}" if rev else ""),
    st.sampled_from("0123456789"),
    st.text(alphabet="0123456789abzAZ.+~", max_size=7),
    st.text(alphabet="0123456789az.+~", max_size=4),
)
rpm_wide_parts = st.text(alphabet="0123456789abzAZ._+~^%#", min_size=1, max_size=8)
rpm_wide_evrs = st.tuples(
    st.one_of(st.none(), st.sampled_from(["0", "1", "007", "42"])),
    rpm_wide_parts,
    st.one_of(st.none(), rpm_wide_parts),
)
maven_wide = st.text(alphabet="0123456789abcmrsABC.-_", min_size=1, max_size=10)
gem_wide = st.from_regex(
    r"[0-9]{1,3}(\.[0-9a-zA-Z]{1,3}){0,4}(-[0-9A-Za-z-]{1,3}(\.[0-9A-Za-z-]{1,3}){0,2})?",
    fullmatch=True,
)


# --- composer -------------------------------------------------------------------------

_composer_piece = st.sampled_from(
    [
        "0",
        "1",
        "2",
        "10",
        "01",
        "dev",
        "alpha",
        "a",
        "beta",
        "b",
        "RC",
        "rc",
        "pl",
        "p",
        "patch",
        "x",
        "Alpha",
    ]
)


@st.composite
def composer_versions(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(["0", "1", "2", "10", "01"]))
    for _ in range(draw(st.integers(0, 4))):
        text += draw(st.sampled_from([".", ".", "-", "_", "+", ""])) + draw(_composer_piece)
    return text


# --- nuget ----------------------------------------------------------------------------


@st.composite
def nuget_versions(draw: st.DrawFn) -> str:
    text = ".".join(draw(small_numbers) for _ in range(draw(st.integers(1, 4))))
    if draw(st.booleans()):
        labels = draw(
            st.lists(
                st.sampled_from(
                    ["alpha", "Alpha", "BETA", "beta", "rc", "0", "1", "2", "10", "preview1", "a-b"]
                ),
                min_size=1,
                max_size=3,
            )
        )
        text += "-" + ".".join(labels)
    if draw(st.integers(0, 4)) == 0:
        text += "+" + draw(st.sampled_from(["build.5", "sha.abc", "1"]))
    return text
