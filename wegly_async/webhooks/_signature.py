"""Check a webhook body's ``x-wegly-signature``: HMAC-SHA256 over the exact bytes received.

API.md's decision: Wegly sends lowercase hex; uppercase hex, base64 (standard or URL-safe)
and a ``sha256=`` prefix are accepted too. Digests are compared in constant time, against
each secret in turn, so a secret can be rotated by accepting the old and the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import WebhookSignatureError

__all__ = [
    "Keyed",
    "Secret",
    "Secrets",
    "check_secrets",
    "keyed",
    "verify_signature",
    "verify_with_macs",
]

if TYPE_CHECKING:
    from hashlib import _Hash

Secret = str | bytes
Secrets = Secret | Sequence[Secret]
# A key's SHA-256 states after its inner and its outer pad (RFC 2104), ready to be copied.
Keyed = tuple["_Hash", "_Hash"]

_BLOCK_BYTES = hashlib.sha256().block_size
_DIGEST_BYTES = hashlib.sha256().digest_size
# What XOR with the inner and outer pad bytes does to each byte (as the hmac module does).
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))
_HEX_LENGTH = 2 * _DIGEST_BYTES
_PREFIX = "sha256="
_URLSAFE = str.maketrans("-_", "+/")


def check_secrets(secret: Secrets) -> tuple[bytes, ...]:
    """Return the secrets as UTF-8 bytes, raising TypeError or ValueError for bad ones."""
    items = (secret,) if isinstance(secret, str | bytes) else secret
    if not isinstance(items, Sequence):
        kind = type(secret).__name__
        raise TypeError(f"secret must be a str, bytes or a sequence of them, got {kind}")
    keys: list[bytes] = []
    for item in items:
        if not isinstance(item, str | bytes):
            raise TypeError(f"each secret must be a str or bytes, got {type(item).__name__}")
        key = item.encode() if isinstance(item, str) else bytes(item)
        if not key:
            raise ValueError("a webhook secret must not be empty: every body would verify")
        keys.append(key)
    if not keys:
        raise ValueError("pass at least one webhook secret")
    return tuple(keys)


def verify_signature(body: bytes, signature: str | None, secret: Secrets) -> None:
    """Check that ``signature`` is the HMAC-SHA256 of the raw ``body`` under one of the secrets.

    Raises:
        WebhookSignatureError: the signature is missing, malformed, or matches no secret.
    """
    verify_with_macs(body, signature, keyed(check_secrets(secret)))


def keyed(keys: tuple[bytes, ...]) -> tuple[Keyed, ...]:
    """Return each key's HMAC-SHA256 pads, hashed once, for ``verify_with_macs`` to copy.

    HMAC is SHA-256 over the outer pad and the digest of the inner pad and the body (RFC
    2104). Keeping the two hashlib states, rather than an ``hmac.HMAC``, saves the body's
    verification the hmac module's Python methods around them (half of its cost).
    """
    return tuple(_pads(key) for key in keys)


def _pads(key: bytes) -> Keyed:
    if len(key) > _BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    block = key.ljust(_BLOCK_BYTES, b"\0")
    return hashlib.sha256(block.translate(_INNER_PAD)), hashlib.sha256(block.translate(_OUTER_PAD))


def verify_with_macs(body: bytes, signature: str | None, macs: tuple[Keyed, ...]) -> bytes:
    """Do what ``verify_signature`` does, with the secrets already ``keyed``; return a body key.

    The key is the body's HMAC-SHA256 under the first secret: identical bodies get the same
    key whichever secret signed them, and a dedupe store needs no second hash of the body.
    """
    if body.__class__ is not bytes and not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(
            f"body must be the raw bytes received, got {type(body).__name__}: a re-encoded "
            "body does not verify"
        )
    digest = _decode(signature)
    first = b""
    matched = False
    for inner_pad, outer_pad in macs:
        # Copies of the hashed pads skip keying again for every body. Every secret is
        # tried, so the time taken does not say which one matched.
        inner = inner_pad.copy()
        inner.update(body)
        outer = outer_pad.copy()
        outer.update(inner.digest())
        computed = outer.digest()
        first = first or computed
        matched |= hmac.compare_digest(computed, digest)
    if not matched:
        raise WebhookSignatureError(
            "the x-wegly-signature does not match the body: check the secret, and that the "
            "exact bytes received are verified (not JSON parsed and serialized again)"
        )
    return first


def _decode(signature: str | None) -> bytes:
    """Return the digest a signature header carries, or raise WebhookSignatureError."""
    if signature.__class__ is str and len(signature) == _HEX_LENGTH:
        # What Wegly sends: lowercase hex, nothing around it.
        try:
            digest = bytes.fromhex(signature)
        except ValueError:
            pass
        else:
            if len(digest) == _DIGEST_BYTES:
                return digest
    if signature is not None and not isinstance(signature, str):
        raise TypeError(f"signature must be a str or None, got {type(signature).__name__}")
    if signature is None or not signature.strip():
        raise WebhookSignatureError("the x-wegly-signature header is missing")
    text = signature.strip()
    if text[: len(_PREFIX)].lower() == _PREFIX:
        text = text[len(_PREFIX) :]
    if len(text) == _HEX_LENGTH:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        # URL-safe base64 is read as the standard alphabet; padding may be left out.
        standard = text.translate(_URLSAFE).encode("ascii")
        digest = base64.b64decode(standard + b"=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        digest = b""
    if len(digest) == _DIGEST_BYTES:
        return digest
    raise WebhookSignatureError("the x-wegly-signature is not an HMAC-SHA256 in hex or base64")
