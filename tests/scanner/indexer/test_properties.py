"""Property tests for the safety-critical path helpers and the release-file parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.indexer.analysers.distribution import parse_os_release
from stockade.scanner.indexer.errors import LayerError, UnsafeLayerError
from stockade.scanner.indexer.layer import Limits, normalise, resolve_symlinks

SEGMENT = st.sampled_from(
    ["..", ".", "", "etc", "usr", "lib", "os-release", "a b", "x..y", ".wh.z"]
)
PATHS = st.lists(SEGMENT, max_size=8).map("/".join) | st.text(max_size=40)


@given(PATHS)
def test_normalise_never_yields_an_escaping_path(name: str) -> None:
    try:
        out = normalise(name, Limits(), "t")
    except LayerError:
        return
    assert not out.startswith("/")
    assert ".." not in out.split("/")
    assert "" not in out.split("/") or out == ""


@given(
    st.dictionaries(
        st.lists(SEGMENT.filter(lambda s: s not in ("", ".", "..")), min_size=1, max_size=3).map(
            "/".join
        ),
        PATHS,
        max_size=6,
    ),
    st.lists(SEGMENT, min_size=1, max_size=5).map("/".join),
)
def test_symlink_resolution_terminates_inside_the_root(links: dict[str, str], path: str) -> None:
    try:
        out = resolve_symlinks(path, links, Limits(max_symlink_hops=40), "t")
    except UnsafeLayerError:
        return  # a loop, reported
    if out is not None:
        assert ".." not in out.split("/") and not out.startswith("/")


@given(
    st.dictionaries(
        st.from_regex(r"[A-Z_]{1,12}", fullmatch=True), st.text(max_size=30), max_size=8
    )
)
def test_os_release_round_trip(fields: dict[str, str]) -> None:
    """Values written shell-quoted (as os-release(5) asks) come back unchanged."""
    lines = []
    for key, value in fields.items():
        escaped = (
            value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
        )
        lines.append(f'{key}="{escaped}"')
    parsed = parse_os_release("\n".join(lines))
    for key, value in fields.items():
        if not any(c in value for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
            assert parsed[key] == value


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('ID=debian\nVERSION="12 (bookworm)"\n', {"ID": "debian", "VERSION": "12 (bookworm)"}),
        ("# comment\nID='alpine'\n\nBROKEN\n", {"ID": "alpine"}),
        ('PRETTY_NAME="unterminated\n', {"PRETTY_NAME": "unterminated"}),
    ],
)
def test_os_release_examples(text: str, want: dict[str, str]) -> None:
    assert parse_os_release(text) == want
