"""The ``wegly-async`` command line: parse arguments, run one command, map errors to exit codes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .. import _errors as errors
from .._version import __version__

__all__ = ["UsageError", "describe_error", "main"]


class UsageError(Exception):
    """Raise when the command line's arguments cannot work; exits with status 2."""


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_STATUS_PHRASES: dict[type[errors.APIStatusError], str] = {
    errors.BadRequestError: "bad request",
    errors.AuthenticationError: "authentication failed",
    errors.PermissionDeniedError: "permission denied",
    errors.NotFoundError: "not found",
    errors.ConflictError: "conflict",
    errors.UnprocessableEntityError: "request rejected",
    errors.RateLimitError: "rate limited",
    errors.InternalServerError: "server error",
}


def describe_error(exc: BaseException) -> str:
    """Return one line saying what went wrong, without a traceback."""
    if isinstance(exc, errors.APIStatusError):
        phrase = _STATUS_PHRASES.get(type(exc), "request failed")
        return f"{phrase} ({exc.status_code}): {exc.message}"
    if isinstance(exc, errors.SendOutcomeUnknownError):
        return f"outcome unknown: {exc.message}"
    if isinstance(exc, errors.APITimeoutError):
        return f"timed out: {exc.message}"
    if isinstance(exc, errors.APIConnectionError):
        return f"connection failed: {exc.message}"
    if isinstance(exc, errors.InvalidResponseError):
        return f"invalid response: {exc}"
    if isinstance(exc, OSError):
        return f"file error: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "connection (default to WEGLY_TOKEN, WEGLY_BASE_URL, WEGLY_ORIGIN)"
    )
    group.add_argument("--token", help="integration token (prefer the WEGLY_TOKEN variable)")
    group.add_argument("--base-url", help="API base URL (default https://api.wegly.com.br)")
    group.add_argument("--origin", help="Origin header for keys restricted by allowed_domain")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="wegly-async", description="Talk to the Wegly API, or to its built-in emulator."
    )
    parser.add_argument("--version", action="version", version=f"wegly-async {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a bot and an export against the built-in emulator")
    demo.add_argument("--out", help="directory for the exported files (default: a temp dir)")
    demo.add_argument("--chats", type=int, default=3, help="chats to seed (default 3)")
    demo.add_argument("--events", type=int, default=2000, help="events per chat (default 2000)")
    demo.add_argument("--no-progress", action="store_true", help="print no progress")

    emulator = commands.add_parser("emulator", help="serve the Wegly emulator until Ctrl-C")
    emulator.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)"
    )
    emulator.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    emulator.add_argument("--chats", type=int, default=3, help="chats to seed (default 3)")
    emulator.add_argument("--events", type=int, default=2000, help="events per chat (default 2000)")
    emulator.add_argument("--token", help="token the emulator accepts (default: random)")
    emulator.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    emulator.add_argument("--max-take", type=int, help="cap every page at this many records")

    export = commands.add_parser("export", help="export chat timelines to files, resumably")
    export.add_argument("chat_ids", nargs="+", metavar="CHAT_ID")
    export.add_argument("--out", required=True, help="output directory")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--order", choices=("asc", "desc"), default="asc")
    export.add_argument("--take", type=int, default=100, help="page size (default 100)")
    export.add_argument("--concurrency", type=int, default=4, help="chats at once (default 4)")
    export.add_argument("--fsync", action="store_true", help="fsync every page (power-loss safe)")
    export.add_argument("--no-progress", action="store_true", help="print no progress")
    _add_connection_options(export)

    send = commands.add_parser("send", help="send one message into a chat")
    send.add_argument("chat_id", metavar="CHAT_ID")
    what = send.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="send a text message")
    what.add_argument("--reaction", metavar="EMOJI", help="react (needs --to)")
    what.add_argument("--template", metavar="NAME", help="send a template (needs --language)")
    for kind in ("image", "video", "audio", "document"):
        what.add_argument(f"--{kind}", metavar="PATH", help=f"upload and send an {kind}")
    send.add_argument("--to", metavar="WAMID", help="wamid of the message reacted to")
    send.add_argument("--language", help="template language, e.g. pt_BR")
    send.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="COMPONENT:INDEX=VALUE",
        help="template placeholder, e.g. BODY:1=Maria (repeatable)",
    )
    send.add_argument("--caption", help="caption of an image, video or document")
    send.add_argument("--reply-to", metavar="WAMID", help="reply to this message")
    _add_connection_options(send)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from . import _commands

    runner = {
        "demo": _commands.run_demo,
        "emulator": _commands.run_emulator,
        "export": _commands.run_export,
        "send": _commands.run_send,
    }[args.command]
    try:
        return asyncio.run(runner(args))
    except UsageError as exc:
        print(f"wegly-async {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Run the command line as a console script."""
    sys.exit(main())
