"""Cosign's key-pair image signatures ("simple signing"), checked offline.

A signature is a payload (JSON naming the image's manifest digest) and a base64 signature over
the payload's bytes, made with the signer's private key: ECDSA or RSA (PKCS #1 v1.5) over
SHA-256, or Ed25519. This module parses public keys and checks payload + signature against
them; it does no I/O (the registry side is :mod:`.cosign_registry`).

Why not the ``sigstore`` package: its verifier (4.x) takes Sigstore bundles only — a Fulcio
certificate plus a Rekor transparency-log entry, checked against a TUF trust root fetched over
the network. It has no check for a signature made with a user's own key and stored in an OCI
registry the way cosign stores it, so the few lines of that check live here, on
``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from stockade.core.errors import StockadeError

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_TYPE = "cosign container image signature"
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_SIGNATURE_CHARS = 16 * 1024  # base64 of an RSA-16384 signature fits
MAX_PEM_CHARS = 16 * 1024
MIN_RSA_BITS = 2048
CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class InvalidPublicKey(StockadeError):
    """A public key PEM cannot be used for cosign verification; the message names the key."""

    exit_code = 2


def load_public_key(pem: str, what: str) -> PublicKey:
    """Parse one PEM ``PUBLIC KEY`` block; ``what`` names the key in the error message."""
    text = pem.strip()
    if not text:
        raise InvalidPublicKey(f"{what} is empty")
    if len(text) > MAX_PEM_CHARS:
        raise InvalidPublicKey(f"{what} is longer than {MAX_PEM_CHARS} characters")
    if text.count("-----BEGIN ") != 1 or not text.endswith("-----"):
        raise InvalidPublicKey(f"{what} must hold exactly one PEM block")
    if not text.startswith("-----BEGIN PUBLIC KEY-----"):
        label = text.partition("\n")[0][:60]
        raise InvalidPublicKey(f"{what} is a {label!r} block, not a PEM public key")
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidPublicKey(f"{what} is not a valid PEM public key") from exc
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in CURVES:
            raise InvalidPublicKey(
                f"{what} uses curve {key.curve.name}; only P-256 and P-384 are accepted"
            )
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidPublicKey(
                f"{what} is an RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} needed"
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise InvalidPublicKey(
        f"{what} is a {type(key).__name__}; only ECDSA, RSA and Ed25519 keys are accepted"
    )


def describe_key(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {CURVES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    return "Ed25519"


@dataclass(frozen=True, slots=True)
class NamedKey:
    name: str
    key: PublicKey


@dataclass(frozen=True, slots=True)
class SignatureLayer:
    """One cosign signature found for an image."""

    payload: bytes
    signature: str  # base64, as cosign stores it in the layer's annotation
    where: str  # for reasons: which manifest and layer it came from


@dataclass(frozen=True, slots=True)
class Check:
    """The result of checking one image's signatures against one set of keys."""

    verified: bool
    key_name: str = ""  # the key that verified, when verified
    reason: str = ""  # why not, when not
    corrupt: bool = False  # nothing usable was found: every signature was malformed


def _signature_ok(key: PublicKey, signature: bytes, payload: bytes) -> bool:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            try:
                key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                # cosign signs with SHA-256; some signers pick SHA-384 for P-384 keys
                if key.curve.name != "secp384r1":
                    raise
                key.verify(signature, payload, ec.ECDSA(hashes.SHA384()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True


class MalformedSignature(ValueError):
    """A signature or its payload cannot be read; the message says what is wrong."""


def payload_digest(payload: bytes) -> str:
    """The manifest digest a simple-signing payload names; MalformedSignature if malformed."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MalformedSignature(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise MalformedSignature("the payload is not JSON") from exc
    critical = doc.get("critical") if isinstance(doc, dict) else None
    image = critical.get("image") if isinstance(critical, dict) else None
    if not isinstance(critical, dict) or not isinstance(image, dict):
        raise MalformedSignature("the payload has no critical.image section")
    if critical.get("type") != SIGNATURE_TYPE:
        raise MalformedSignature(f"the payload's critical.type is not {SIGNATURE_TYPE!r}")
    digest = image.get("docker-manifest-digest")
    if not isinstance(digest, str) or not digest:
        raise MalformedSignature("the payload names no docker-manifest-digest")
    return digest


def decode_signature(text: str) -> bytes:
    if len(text) > MAX_SIGNATURE_CHARS:
        raise MalformedSignature("the signature annotation is too long")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedSignature("the signature annotation is not base64") from exc
    if not raw:
        raise MalformedSignature("the signature annotation is empty")
    return raw


def check_one(layer: SignatureLayer, digest: str, keys: Sequence[NamedKey]) -> Check:
    """One signature: decodes, verifies with some key, and names ``digest``."""
    try:
        raw = decode_signature(layer.signature)
    except ValueError as exc:
        return Check(False, reason=f"{layer.where}: {exc}", corrupt=True)
    key = next((k for k in keys if _signature_ok(k.key, raw, layer.payload)), None)
    if key is None:
        return Check(False, reason=f"{layer.where}: made with none of the keys")
    # only a payload the key signed is read: garbage from a stranger never gets this far
    try:
        named = payload_digest(layer.payload)
    except ValueError as exc:
        return Check(False, reason=f"{layer.where}: {exc}", corrupt=True)
    if named != digest:
        return Check(False, reason=f"{layer.where}: signs another image digest ({named[:80]})")
    return Check(True, key_name=key.name)


def check_signatures(
    layers: Sequence[SignatureLayer],
    digest: str,
    keys: Sequence[NamedKey],
    problems: Sequence[str] = (),
) -> Check:
    """The image is verified when any of its signatures verifies with any key. ``problems``
    are signatures that could not even be read (malformed manifest or layer)."""
    results = [check_one(layer, digest, keys) for layer in layers]
    results += [Check(False, reason=p, corrupt=True) for p in problems]
    if not results:
        return Check(False, reason=f"no cosign signature was found for {digest}")
    good = next((r for r in results if r.verified), None)
    if good is not None:
        return good
    reasons = "; ".join(r.reason for r in results[:5])
    more = f"; and {len(results) - 5} more" if len(results) > 5 else ""
    return Check(False, reason=reasons + more, corrupt=all(r.corrupt for r in results))
