"""Cosign simple-signing checks: real key pairs of every accepted kind, signatures made the way
cosign makes them, and garbage (hypothesis) that must come out "not verified", never raise."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.scanner.indexer.cosign import (
    SIGNATURE_TYPE,
    InvalidPublicKey,
    NamedKey,
    SignatureLayer,
    check_signatures,
    describe_key,
    load_public_key,
    payload_digest,
)

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def payload(digest: str, repo: str = "127.0.0.1:5000/stockade/test") -> bytes:
    # the bytes cosign writes: Go's json.Marshal of SimpleContainerImage (compact, this order)
    doc = {
        "critical": {
            "identity": {"docker-reference": repo},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


Private = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def sign(key: Private, data: bytes) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        raw = key.sign(data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = key.sign(data)
    return base64.b64encode(raw).decode()


def pem(key: Private) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


KEYS: dict[str, Private] = {
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "p384": ec.generate_private_key(ec.SECP384R1()),
    "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
}


def named(name: str) -> NamedKey:
    return NamedKey(name, load_public_key(pem(KEYS[name]), name))


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_each_key_kind_verifies_its_own_signature_only(kind: str) -> None:
    data = payload(DIGEST)
    layer = SignatureLayer(data, sign(KEYS[kind], data), "layer 0")
    ok = check_signatures([layer], DIGEST, [named(kind)])
    assert ok.verified and ok.key_name == kind
    others = [named(k) for k in KEYS if k != kind]
    bad = check_signatures([layer], DIGEST, others)
    assert not bad.verified and "none of the keys" in bad.reason and not bad.corrupt


def test_signature_over_another_digest_is_not_verification() -> None:
    data = payload(OTHER)
    layer = SignatureLayer(data, sign(KEYS["p256"], data), "tag x layer 0")
    result = check_signatures([layer], DIGEST, [named("p256")])
    assert not result.verified and "another image digest" in result.reason


def test_tampered_payload_fails_and_one_good_signature_among_bad_ones_verifies() -> None:
    data = payload(DIGEST)
    sig = sign(KEYS["p256"], data)
    tampered = SignatureLayer(data.replace(b"test", b"evil"), sig, "layer 0")
    garbage = SignatureLayer(b"{}", "!!not base64!!", "layer 1")
    good = SignatureLayer(data, sig, "layer 2")
    assert not check_signatures([tampered, garbage], DIGEST, [named("p256")]).verified
    result = check_signatures([tampered, garbage, good], DIGEST, [named("p256")])
    assert result.verified


def test_no_signature_and_problems_are_reasons() -> None:
    none = check_signatures([], DIGEST, [named("p256")])
    assert not none.verified and "no cosign signature" in none.reason
    broken = check_signatures([], DIGEST, [named("p256")], ["tag t: not a manifest"])
    assert not broken.verified and broken.corrupt and "not a manifest" in broken.reason


def test_payload_with_wrong_type_is_refused_even_when_signed() -> None:
    data = payload(DIGEST).replace(SIGNATURE_TYPE.encode(), b"something else")
    layer = SignatureLayer(data, sign(KEYS["ed25519"], data), "layer 0")
    result = check_signatures([layer], DIGEST, [named("ed25519")])
    assert not result.verified and result.corrupt and "critical.type" in result.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("hello", "exactly one PEM block"),
        (pem(KEYS["p256"]) + pem(KEYS["p384"]), "exactly one PEM block"),
        (
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "not a PEM public key",
        ),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a valid PEM"),
        (pem(ec.generate_private_key(ec.SECP521R1())), "P-256 and P-384"),
        (pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "1024 bits"),
    ],
)
def test_unusable_keys_are_named_in_the_error(text: str, message: str) -> None:
    with pytest.raises(InvalidPublicKey) as info:
        load_public_key(text, 'cosign.publicKeys[3] ("ci")')
    assert message in info.value.message
    assert info.value.message.startswith('cosign.publicKeys[3] ("ci")')


def test_key_descriptions() -> None:
    assert [describe_key(named(k).key) for k in ("p256", "p384", "rsa2048", "ed25519")] == [
        "ECDSA P-256",
        "ECDSA P-384",
        "RSA 2048",
        "Ed25519",
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v).encode()),
    signature=st.text(max_size=200)
    | st.binary(max_size=128).map(lambda b: base64.b64encode(b).decode()),
)
def test_garbage_is_never_verified_and_never_raises(body: bytes, signature: str) -> None:
    result = check_signatures(
        [SignatureLayer(body, signature, "layer 0")], DIGEST, [named("p256"), named("ed25519")]
    )
    assert not result.verified and result.reason


@settings(max_examples=200, deadline=None)
@given(doc=json_values)
def test_payload_parser_raises_only_value_errors(doc: object) -> None:
    # a garbage payload signed by a trusted key still cannot verify: the digest check fails
    data = json.dumps(doc).encode()
    try:
        payload_digest(data)
    except ValueError:
        return
    layer = SignatureLayer(data, sign(KEYS["p256"], data), "layer 0")
    assert not check_signatures([layer], DIGEST, [named("p256")]).verified
