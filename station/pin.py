"""Admin PIN hashing: salted scrypt, so the config never holds a PIN in clear.

    stored = hash_pin("4821")          # 'scrypt$16384$8$1$<salt>$<hash>' for [kiosk] admin_pin_hash
    verify_pin("4821", stored)         # True
    hash_secret("a long passphrase")   # the same scheme for HQ's dashboard passwords
"""
from __future__ import annotations

import hashlib
import hmac
import os

_N, _R, _P, _DKLEN = 2 ** 14, 8, 1, 32


def hash_pin(pin: str) -> str:
    # isascii: str.isdigit() also accepts "１２３４" or "²", which the kiosk keypad cannot type.
    if not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 12:
        raise ValueError("a PIN is 4 to 12 digits")
    return hash_secret(pin)


def hash_secret(secret: str) -> str:
    """Any secret (a PIN, HQ's dashboard passwords) as a self-describing salted scrypt hash."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of `pin` against a `hash_pin` string; False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                                   p=int(p), dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)
