"""Finding an image's cosign signatures in its registry, with the image's own registry client
(credentials, TLS, retries, size limits).

Two places are read:

1. the tag cosign writes, ``sha256-<hex>.sig`` in the image's repository: a manifest whose
   layers of type ``application/vnd.dev.cosign.simplesigning.v1+json`` are the signed payloads,
   each with its base64 signature in the ``dev.cosignproject.cosign/signature`` annotation;
2. OCI 1.1 referrers of the digest (``/v2/<repo>/referrers/<digest>``, or the fallback tag
   ``sha256-<hex>`` holding the referrers index where the registry lacks that API), keeping
   manifests of artifact type ``application/vnd.dev.cosign.artifact.sig.v1+json``.

Anything malformed is skipped and described in ``Found.problems`` (a garbage signature makes
an image "not verified", never a failed scan). A missing tag is simply "no signature".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from stockade.scanner.indexer.cosign import (
    MAX_PAYLOAD_BYTES,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    SignatureLayer,
)
from stockade.scanner.indexer.errors import (
    ImageNotFoundError,
    ImageSourceError,
    RegistryAuthError,
    RegistryUnavailableError,
)
from stockade.scanner.indexer.image import check_digest
from stockade.scanner.indexer.registry import RegistrySource

logger = logging.getLogger(__name__)

SIGNATURE_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
MAX_LAYERS = 32  # signatures read per manifest
MAX_REFERRER_MANIFESTS = 8
MAX_INDEX_BYTES = 1024 * 1024


@dataclass
class Found:
    layers: list[SignatureLayer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def signature_tag(digest: str) -> str:
    """cosign's tag for the signatures of ``digest`` (``sha256:<hex>`` → ``sha256-<hex>.sig``)."""
    return "sha256-" + check_digest(digest, digest) + ".sig"


def _doc(data: bytes) -> dict[str, object] | None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _read_layers(source: RegistrySource, manifest: bytes, where: str, found: Found) -> None:
    doc = _doc(manifest)
    layers = doc.get("layers") if doc else None
    if not isinstance(layers, list):
        found.problems.append(f"{where}: the signature manifest is not a manifest with layers")
        return
    if len(layers) > MAX_LAYERS:
        found.problems.append(f"{where}: only the first {MAX_LAYERS} signature layers are read")
    for i, layer in enumerate(layers[:MAX_LAYERS]):
        at = f"{where} layer {i}"
        if not isinstance(layer, dict):
            found.problems.append(f"{at}: not a layer descriptor")
            continue
        if layer.get("mediaType") != SIMPLE_SIGNING:
            continue  # not a signature (cosign puts nothing else there, others might)
        annotations = layer.get("annotations")
        signature = annotations.get(SIGNATURE_ANNOTATION) if isinstance(annotations, dict) else None
        digest, size = layer.get("digest"), layer.get("size")
        if not isinstance(signature, str):
            found.problems.append(f"{at}: no {SIGNATURE_ANNOTATION} annotation")
            continue
        if not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool):
            found.problems.append(f"{at}: the layer descriptor has no digest or size")
            continue
        if not 0 < size <= MAX_PAYLOAD_BYTES:
            found.problems.append(f"{at}: the payload size {size} is out of bounds")
            continue
        try:
            payload = source.fetch_small_blob(digest, size, f"signature payload {digest[:80]}")
        except ImageSourceError as exc:
            found.problems.append(f"{at}: {exc.message}")
            continue
        found.layers.append(SignatureLayer(payload, signature, at))


def _from_referrers(source: RegistrySource, digest: str, found: Found) -> None:
    index = source.fetch_referrers(digest, MAX_INDEX_BYTES)
    where = "referrers"
    if index is None:  # no referrers API: the fallback tag holds the same index
        where = "tag " + signature_tag(digest).removesuffix(".sig")
        try:
            index, _, _ = source.fetch_manifest(signature_tag(digest).removesuffix(".sig"))
        except ImageNotFoundError:
            return
    doc = _doc(index)
    entries = doc.get("manifests") if doc else None
    if not isinstance(entries, list):
        return  # not a referrers index (the tag may be someone else's): nothing to read
    signatures = [
        e
        for e in entries
        if isinstance(e, dict)
        and e.get("artifactType") == SIGNATURE_ARTIFACT
        and isinstance(e.get("digest"), str)
    ]
    for entry in signatures[:MAX_REFERRER_MANIFESTS]:
        ref = str(entry["digest"])
        try:
            check_digest(ref, source.name)
            manifest, _, _ = source.fetch_manifest(ref, ref)
        except ImageSourceError as exc:
            found.problems.append(f"{where} {ref[:80]}: {exc.message}")
            continue
        _read_layers(source, manifest, f"{where} {ref}", found)


def find_signatures(source: RegistrySource, digest: str) -> Found:
    """Every cosign signature stored for ``digest`` in ``source``'s repository.

    Raises :class:`ImageSourceError` only when the registry cannot be asked at all (auth,
    network); malformed content goes to ``Found.problems``."""
    found = Found()
    tag = signature_tag(digest)
    try:
        manifest, _, _ = source.fetch_manifest(tag)
    except ImageNotFoundError:
        pass
    except (RegistryAuthError, RegistryUnavailableError):
        raise
    except ImageSourceError as exc:  # too large, wrong digest, an odd answer
        found.problems.append(f"tag {tag}: {exc.message}")
    else:
        _read_layers(source, manifest, f"tag {tag}", found)
    try:
        _from_referrers(source, digest, found)
    except ImageSourceError as exc:
        # the referrers API is optional; a registry that answers it oddly is not an error
        logger.debug("referrers not read for %s: %s", digest, exc.message)
    return found
