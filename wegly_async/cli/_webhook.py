"""``wegly-async webhook listen|verify``: print verified events, or check one body's signature."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

from .._constants import CLI_WEBHOOK_PORT, EMULATOR_HOST, ENV_WEBHOOK_SECRET
from ._exits import EXIT_FAILED, EXIT_OK, UsageError

__all__ = ["add_webhook_parser", "reserializations", "run_webhook"]

_SECRET_HELP = (
    f"the subscription's secret (default ${ENV_WEBHOOK_SECRET}, the safe way: --secret "
    "shows it to every user of this machine in the process list)"
)

_EXAMPLES = f"""\
examples:
  export {ENV_WEBHOOK_SECRET}=...             # the secret, kept out of the process list
  wegly-async webhook listen --port 8081 > events.jsonl
  wegly-async webhook verify --signature 3f9a... body.json
  curl ... | wegly-async webhook verify --signature "$SIG"
"""


def add_webhook_parser(commands: Any) -> None:
    """Add ``webhook listen`` and ``webhook verify`` to the command line's subparsers."""
    webhook = commands.add_parser(
        "webhook",
        help="receive Wegly's webhooks, or check one body's signature",
        description="Receive Wegly's webhooks, or check the signature of one body.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = webhook.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    listen = actions.add_parser(
        "listen",
        help="serve a webhook endpoint at / and print each verified event as a JSON line",
        description="Serve a webhook endpoint at / and print each verified event (its "
        "envelope, once however often it is redelivered) as one JSON line on stdout.",
    )
    listen.add_argument("--secret", help=_SECRET_HELP)
    listen.add_argument("--host", default=EMULATOR_HOST, help="address (default %(default)s)")
    listen.add_argument(
        "--port", type=int, default=CLI_WEBHOOK_PORT, help="port (default %(default)s; 0 = any)"
    )
    verify = actions.add_parser(
        "verify",
        help="check one body's x-wegly-signature (exit 0 valid, 1 not)",
        description="Check one body's x-wegly-signature: exit 0 when valid, 1 when not, "
        "saying when the body was probably re-serialized (the most common cause).",
    )
    verify.add_argument("--secret", help=_SECRET_HELP)
    verify.add_argument(
        "--signature", required=True, help="the x-wegly-signature header's value (required)"
    )
    verify.add_argument(
        "file", nargs="?", metavar="FILE", help="the body as received (default: stdin)"
    )


def _secret(args: argparse.Namespace) -> str:
    secret: str | None = args.secret
    if secret is None:
        secret = os.environ.get(ENV_WEBHOOK_SECRET)
    if not secret:
        raise UsageError(f"no webhook secret: set {ENV_WEBHOOK_SECRET} (or pass --secret)")
    return secret


async def run_webhook(args: argparse.Namespace) -> int:
    """Run ``webhook listen`` or ``webhook verify``."""
    if args.webhook_command == "verify":
        return _verify(args)
    from ._listen import listen

    return await listen(_secret(args), args.host, args.port)


def _verify(args: argparse.Namespace) -> int:
    from ..webhooks import WebhookSignatureError, verify_signature

    secret = _secret(args)
    body = _read_body(args.file)
    try:
        verify_signature(body, args.signature, secret)
    except WebhookSignatureError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        how = next(
            (name for name, again in reserializations(body) if _signs(again, args, secret)),
            None,
        )
        if how is not None:
            looks = "re-serialized" if "JSON" in how else "changed after it was signed"
            print(
                f"the body looks {looks}: the signature matches {how}. Verify the exact "
                "bytes received, before any JSON parsing, pretty-printing or editing.",
                file=sys.stderr,
            )
        return EXIT_FAILED
    print(f"valid: the signature matches these {len(body):,} bytes")
    return EXIT_OK


def _signs(body: bytes, args: argparse.Namespace, secret: str) -> bool:
    from ..webhooks import WebhookSignatureError, verify_signature

    try:
        verify_signature(body, args.signature, secret)
    except WebhookSignatureError:
        return False
    return True


def _read_body(file: str | None) -> bytes:
    if file is None or file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise UsageError(f"FILE {file}: cannot read it ({exc.strerror or exc})") from exc


def reserializations(body: bytes) -> list[tuple[str, bytes]]:
    """Return the common re-encodings of a JSON ``body``, each with how it was made.

    What a framework or a user does to a body before it is verified: parse it and serialize
    it again (compact or spaced, keys sorted or not, non-ASCII escaped or not, indented),
    or add or drop the final line break.
    """
    variants: list[tuple[str, bytes]] = []
    stripped = body.rstrip(b"\r\n")
    if stripped != body:
        variants.append(("the body without its final line break", stripped))
    variants.append(("the body with a final line break added", body + b"\n"))
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return variants
    layouts: list[tuple[str, Any, tuple[str, str]]] = [
        ("compact JSON", None, (",", ":")),
        ("JSON spaced after ',' and ':'", None, (", ", ": ")),
        *((f"JSON indented by {indent!r}", indent, (",", ": ")) for indent in (2, 4, "\t")),
    ]
    for (layout, indent, separators), sort_keys, ascii_only in itertools.product(
        layouts, (False, True), (True, False)
    ):
        text = json.dumps(
            value,
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
            ensure_ascii=ascii_only,
        )
        keys = "keys sorted" if sort_keys else "keys in order"
        escapes = "non-ASCII escaped as \\uXXXX" if ascii_only else "non-ASCII kept"
        name = f"the body re-serialized as {layout}, {keys}, {escapes}"
        variants.append((name, text.encode()))
    return variants
