"""Reading cosign signature manifests: garbage manifests and layer descriptors become
problems (reasons), never exceptions; an unreachable registry is a typed error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.scanner.indexer.cosign import SIGNATURE_ANNOTATION, SIMPLE_SIGNING
from stockade.scanner.indexer.cosign_registry import (
    MAX_LAYERS,
    Found,
    _read_layers,
    find_signatures,
    signature_tag,
)
from stockade.scanner.indexer.errors import BlobDigestError, RegistryUnavailableError
from stockade.scanner.indexer.registry import RegistryOptions, RegistrySource

from .conftest import free_port

DIGEST = "sha256:" + "ab" * 32


class Blobs:
    """Stands in for the registry's blob endpoint only (manifest parsing is under test)."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def fetch_small_blob(self, digest: str, limit: int, what: str) -> bytes:
        self.fetched.append(digest)
        if digest.endswith("0"):
            raise BlobDigestError(f"the {what} does not match its digest")
        return b"payload"


def layer(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "mediaType": SIMPLE_SIGNING,
        "digest": "sha256:" + "1" * 64,
        "size": 7,
        "annotations": {SIGNATURE_ANNOTATION: "c2ln"},
    }
    return {**base, **over}


def test_signature_tag_is_cosigns() -> None:
    assert signature_tag(DIGEST) == "sha256-" + "ab" * 32 + ".sig"


def test_layers_are_read_and_bad_descriptors_are_problems() -> None:
    manifest = {
        "layers": [
            layer(),
            layer(mediaType="application/vnd.oci.image.layer.v1.tar"),  # not a signature
            layer(annotations={}),
            layer(size=10**9),
            layer(size=True),
            layer(digest="sha256:" + "0" * 64),
            "nonsense",
        ]
    }
    found = Found()
    _read_layers(Blobs(), json.dumps(manifest).encode(), "tag t", found)  # type: ignore[arg-type]
    assert [x.where for x in found.layers] == ["tag t layer 0"]
    assert found.layers[0].signature == "c2ln" and found.layers[0].payload == b"payload"
    joined = " | ".join(found.problems)
    for text in (
        "layer 2: no dev.cosignproject",
        "layer 3: the payload size",
        "layer 4: the layer",
        "layer 5: the signature payload",
        "layer 6: not a layer",
    ):
        assert text in joined, joined
    assert len(found.problems) == 5


def test_layer_count_is_bounded() -> None:
    blobs = Blobs()
    found = Found()
    manifest = {"layers": [layer() for _ in range(MAX_LAYERS + 5)]}
    _read_layers(blobs, json.dumps(manifest).encode(), "tag t", found)  # type: ignore[arg-type]
    assert len(blobs.fetched) == MAX_LAYERS and "only the first" in found.problems[0]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(
    doc=json_values
    | st.fixed_dictionaries({"layers": st.lists(json_values | st.builds(layer), max_size=5)}),
    raw=st.binary(max_size=64),
)
def test_garbage_manifests_never_raise(doc: object, raw: bytes) -> None:
    for data in (json.dumps(doc).encode(), raw):
        found = Found()
        _read_layers(Blobs(), data, "tag t", found)  # type: ignore[arg-type]
        assert all(isinstance(p, str) and p for p in found.problems)


def test_unreachable_registry_is_a_typed_error() -> None:
    source = RegistrySource(
        f"127.0.0.1:{free_port()}/sig/app@{DIGEST}",
        RegistryOptions(attempts=1, timeout=2, insecure=frozenset()),
    )
    with pytest.raises(RegistryUnavailableError):
        find_signatures(source, DIGEST)
    source.close()
