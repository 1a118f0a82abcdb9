"""Authenticated encryption for what Central keeps at rest (its own secrets, integration
credentials). AES-256-GCM with a random 96-bit nonce; the record's name is bound in as
associated data so a ciphertext cannot be moved to another record."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32


class DecryptionFailed(Exception):
    """The key does not open this ciphertext (wrong key or tampered data)."""


@dataclass(frozen=True)
class Sealed:
    nonce: bytes
    ciphertext: bytes


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(key: bytes, name: str, plaintext: bytes) -> Sealed:
    nonce = os.urandom(12)
    return Sealed(nonce, AESGCM(key).encrypt(nonce, plaintext, name.encode()))


def unseal(key: bytes, name: str, sealed: Sealed) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, name.encode())
    except InvalidTag as exc:
        raise DecryptionFailed(name) from exc
