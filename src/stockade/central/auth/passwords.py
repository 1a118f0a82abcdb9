"""Password hashing (argon2id) with a cache of verified results, so a client that sends HTTP
basic credentials on every request pays the deliberately slow hash once, not per request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def generate_password(length: int = 24) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class VerifiedCache:
    """Remembers (hash, password) pairs that verified, keyed by a keyed digest of both.

    Only successes are cached: a wrong password always pays the full hash, which is what
    makes guessing expensive. Bounded in size, oldest evicted first.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self._key = secrets.token_bytes(32)
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def _digest(self, stored_hash: str, password: str) -> bytes:
        return hmac.new(self._key, f"{stored_hash}\0{password}".encode(), hashlib.sha256).digest()

    def verify(self, stored_hash: str, password: str) -> bool:
        digest = self._digest(stored_hash, password)
        with self._lock:
            if digest in self._ok:
                self._ok.move_to_end(digest)
                return True
        try:
            _hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        with self._lock:
            self._ok[digest] = None
            while len(self._ok) > self._max:
                self._ok.popitem(last=False)
        return True
