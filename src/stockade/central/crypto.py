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


class CredentialVault:
    """Seals credentials Central stores for integrations (registry passwords, notifier
    tokens) with Central's data key. The stored form is ``nonce || ciphertext``; the record's
    id is the associated data, so a credential moved to another record does not open."""

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise ValueError("the data key must be 32 bytes")
        self._key = data_key

    def seal(self, record_id: str, secret: str) -> bytes:
        sealed = seal(self._key, f"credential:{record_id}", secret.encode())
        return sealed.nonce + sealed.ciphertext

    def open(self, record_id: str, blob: bytes) -> str:
        if len(blob) < 13:
            raise DecryptionFailed(record_id)
        plain = unseal(self._key, f"credential:{record_id}", Sealed(blob[:12], blob[12:]))
        return plain.decode()
