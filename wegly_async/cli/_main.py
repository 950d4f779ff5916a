"""The ``wegly-async`` command line: parse the arguments and run one command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .._constants import (
    CLI_EMULATOR_PORT,
    CLI_SEED_CHATS,
    CLI_SEED_EVENTS,
    CSV_FORMULA_MODES,
    DEFAULT_BASE_URL,
    DEFAULT_CSV_FORMULAS,
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_EXPORT_FORMAT,
    DEFAULT_PAGE_SIZE,
    EMULATOR_HOST,
    EMULATOR_LATENCY,
    ENV_BASE_URL,
    ENV_ORIGIN,
    ENV_TOKEN,
    EXPORT_FORMATS,
)
from .._enums import Order
from .._version import __version__
from ._exits import EXIT_INTERRUPTED, EXIT_USAGE, Interrupted, UsageError

__all__ = ["build_parser", "main", "run"]


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        f"connection (default to {ENV_TOKEN}, {ENV_BASE_URL}, {ENV_ORIGIN})"
    )
    group.add_argument("--token", help=f"integration token (prefer the {ENV_TOKEN} variable)")
    group.add_argument("--base-url", help=f"API base URL (default {DEFAULT_BASE_URL})")
    group.add_argument("--origin", help="Origin header for keys restricted by allowed_domain")


def _add_seed_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chats", type=int, default=CLI_SEED_CHATS, help="chats to seed (default %(default)s)"
    )
    parser.add_argument(
        "--events",
        type=int,
        default=CLI_SEED_EVENTS,
        help="events per chat (default %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="wegly-async", description="Talk to the Wegly API, or to its built-in emulator."
    )
    parser.add_argument("--version", action="version", version=f"wegly-async {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a bot and an export against the built-in emulator")
    demo.add_argument("--out", help="directory for the exported files (default: a temp dir)")
    _add_seed_options(demo)
    demo.add_argument("--no-progress", action="store_true", help="print no progress")

    emulator = commands.add_parser("emulator", help="serve the Wegly emulator until Ctrl-C")
    emulator.add_argument(
        "--host", default=EMULATOR_HOST, help="loopback address (default %(default)s)"
    )
    emulator.add_argument(
        "--port", type=int, default=CLI_EMULATOR_PORT, help="port (default %(default)s; 0 = any)"
    )
    _add_seed_options(emulator)
    emulator.add_argument("--token", help="token the emulator accepts (default: random)")
    emulator.add_argument(
        "--latency",
        type=float,
        default=EMULATOR_LATENCY,
        help="seconds before each answer (default %(default)s)",
    )
    emulator.add_argument("--max-take", type=int, help="cap every page at this many records")

    export = commands.add_parser("export", help="export chat timelines to files, resumably")
    export.add_argument("chat_ids", nargs="+", metavar="CHAT_ID")
    export.add_argument("--out", required=True, help="output directory")
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default=DEFAULT_EXPORT_FORMAT,
        help="file format (default %(default)s)",
    )
    export.add_argument(
        "--order",
        choices=[order.value for order in Order],
        default=Order.ASC.value,
        help="oldest first or newest first (default %(default)s)",
    )
    export.add_argument(
        "--take", type=int, default=DEFAULT_PAGE_SIZE, help="page size (default %(default)s)"
    )
    export.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_EXPORT_CONCURRENCY,
        help="requests in flight over all chats (default %(default)s)",
    )
    export.add_argument("--fsync", action="store_true", help="fsync every page (power-loss safe)")
    export.add_argument(
        "--csv-formulas",
        choices=CSV_FORMULA_MODES,
        default=DEFAULT_CSV_FORMULAS,
        help="CSV text cells starting with = + - @, a tab or a CR: prefix them with ' so a "
        "spreadsheet does not run them, or keep them raw (default %(default)s)",
    )
    export.add_argument(
        "--bom",
        action="store_true",
        help="start CSV files with a UTF-8 BOM, so Excel shows accents right",
    )
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
    # Imported once the arguments are parsed: ``--help`` and ``--version`` need no aiohttp.
    from ._commands import run_emulator, run_send
    from ._demo import run_demo
    from ._export import run_export

    runner = {
        "demo": run_demo,
        "emulator": run_emulator,
        "export": run_export,
        "send": run_send,
    }[args.command]
    try:
        return asyncio.run(runner(args))
    except UsageError as exc:
        print(f"wegly-async {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as exc:
        print(f"wegly-async {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run() -> None:
    """Run the command line as a console script."""
    sys.exit(main())
