"""Where a command's token comes from (``WEGLY_TOKEN``, ``--token-file`` or ``--token``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .._client import WeglyClient
from .._constants import ENV_TOKEN
from ._exits import UsageError, usage_errors

__all__ = ["TOKEN_FILE_MAX_BYTES", "make_client"]

# Far more than any token; a larger file (or /dev/zero) is surely not one.
TOKEN_FILE_MAX_BYTES = 8 * 1024


def make_client(args: argparse.Namespace, **options: Any) -> WeglyClient:
    """Return a client for the connection options, or raise a usage error that says what to do."""
    token = _token(args)
    with usage_errors():
        return WeglyClient(token, base_url=args.base_url, origin=args.origin, **options)


def _token(args: argparse.Namespace) -> str:
    if args.token_file is not None:
        return _read_token_file(args.token_file)
    if args.token is not None:
        return str(args.token)
    token = os.environ.get(ENV_TOKEN)
    if not token:
        raise UsageError(
            f"no token: set the {ENV_TOKEN} environment variable (the safe way), or pass "
            "--token-file PATH (- reads stdin), or --token TOKEN (visible in the process list)"
        )
    return token


def _read_token_file(path: str) -> str:
    shown = "stdin" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(TOKEN_FILE_MAX_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                raw = handle.read(TOKEN_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"--token-file {shown}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > TOKEN_FILE_MAX_BYTES:
        raise UsageError(f"--token-file {shown}: larger than {TOKEN_FILE_MAX_BYTES} bytes")
    # The contents are never echoed: a malformed token may still be a real one.
    token = raw.decode("ascii", "replace").strip()
    if not token:
        raise UsageError(f"--token-file {shown}: it is empty")
    return token
