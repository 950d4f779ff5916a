"""The ``wegly-async`` command line: parse the arguments and run one command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

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
    DEFAULT_PARQUET_PART_ROWS,
    EMULATOR_HOST,
    EMULATOR_LATENCY,
    ENV_BASE_URL,
    ENV_ORIGIN,
    ENV_TOKEN,
    EXPORT_FORMATS,
    MAX_BUTTONS,
)
from .._enums import Order
from .._version import __version__
from ._crm import add_deal_parser, add_lead_parser
from ._exits import EXIT_INTERRUPTED, EXIT_USAGE, Interrupted, UsageError
from ._parser import SuggestingParser
from ._queue import add_queue_options, add_queue_parsers
from ._webhook import add_webhook_parser

__all__ = ["build_parser", "main", "run"]


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        f"connection (default to {ENV_TOKEN}, {ENV_BASE_URL}, {ENV_ORIGIN})",
        f"Set the token in {ENV_TOKEN} (the safe way) or read it with --token-file:\n"
        "--token shows it to every user of this machine in the process list.",
    )
    token = group.add_mutually_exclusive_group()
    token.add_argument(
        "--token", help=f"integration token (default ${ENV_TOKEN}; visible in the process list)"
    )
    token.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"read the token from this file, or from stdin with - (default: ${ENV_TOKEN})",
    )
    group.add_argument(
        "--base-url", help=f"API base URL (default ${ENV_BASE_URL}, else {DEFAULT_BASE_URL})"
    )
    group.add_argument(
        "--origin",
        help=f"Origin header for a key restricted by allowed_domain (default ${ENV_ORIGIN})",
    )


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


_EXAMPLES = f"""\
examples:
  wegly-async demo                          # offline: a bot and an export
  export {ENV_TOKEN}=...                   # the token, kept out of the process list
  wegly-async timeline CHAT_ID --order desc --limit 5
  wegly-async send CHAT_ID --text "Olá!"
  wegly-async chat CHAT_ID                  # the chat's fields
  wegly-async lead create --title "Site: Ana" --phone +5511999990000
  wegly-async export CHAT_ID --out backup/
  wegly-async export CHAT_ID... --out /mnt/x --queue redis://HOST:6379/0   # then: worker

Run "wegly-async COMMAND --help" for a command's options and examples.
"""

_SEND_EXAMPLES = f"""\
examples:
  wegly-async send CHAT_ID --text "Olá!" --reply-to WAMID
  wegly-async send CHAT_ID --reaction 👍 --to WAMID
  wegly-async send CHAT_ID --template saudacao_inicial --language pt_BR --field BODY:1=Maria
  wegly-async send CHAT_ID --template oferta --language pt_BR \\
      --field component=BUTTON,type=PAYLOAD,index=0,button_index=1,value=CUPOM10
  wegly-async send CHAT_ID --document proposta.pdf --caption "Segue a proposta"
  wegly-async send CHAT_ID --location -23.5614,-46.6559 --name "Loja Paulista" \\
      --address "Av. Paulista, 1000 - São Paulo"
  wegly-async send CHAT_ID --text "Confirma a visita amanhã?" --buttons "sim:Sim,nao:Não"
  wegly-async send CHAT_ID --text "Escolha um horário" --list "Ver horários" \\
      --section "Manhã=h9:9h,h10:10h:até 10h30" --section "Tarde=h14:14h,h16:16h"

--buttons takes 1 to {MAX_BUTTONS} ID:TITLE pairs, separated by commas; the contact sees each TITLE
and your bot gets its ID back. --list LABEL is the button that opens the list, and each
--section is TITLE=ID:TITLE[:DESCRIPTION],... (the description may hold colons). WhatsApp's
limits (titles, ids, counts) are checked before anything is sent.
The WAMID of a message is in the fourth column of `wegly-async timeline CHAT_ID`.
"""

_CHAT_EXAMPLES = """\
examples:
  wegly-async chat CHAT_ID                 # the chat's fields, one per line
  wegly-async chat CHAT_ID --json          # the server's object as sent
  wegly-async unread                       # unread messages, and in how many chats
  wegly-async unread --json
"""

_TIMELINE_EXAMPLES = """\
examples:
  wegly-async timeline CHAT_ID --order desc --limit 10    # the 10 newest events
  wegly-async timeline CHAT_ID --search 19615              # text or file name
  wegly-async timeline CHAT_ID --json > chat.jsonl         # the server's records

Each line: time (UTC), direction (in/out), type, the message's wamid, its text.
"""


def _add_send_parser(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="send one message into a chat",
        description="Send one message into a chat and print its id and wamid.",
        epilog=_SEND_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument("chat_id", metavar="CHAT_ID", help="the chat's UUID")
    what = send.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="send a text message")
    what.add_argument("--reaction", metavar="EMOJI", help="react to a message (needs --to)")
    what.add_argument("--template", metavar="NAME", help="send a template (needs --language)")
    what.add_argument(
        "--location", metavar="LAT,LON", help="send a location pin, e.g. -23.5505,-46.6333"
    )
    for kind, article in (("image", "an"), ("video", "a"), ("audio", "an"), ("document", "a")):
        what.add_argument(f"--{kind}", metavar="PATH", help=f"upload and send {article} {kind}")
    send.add_argument(
        "--to", metavar="WAMID", help="with --reaction (required): wamid of the message reacted to"
    )
    send.add_argument("--language", help="with --template (required): its language, e.g. pt_BR")
    send.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="FIELD",
        help="with --template, repeatable: a placeholder as COMPONENT:INDEX=VALUE "
        "(e.g. BODY:1=Maria, of type TEXT), or with every key: component=C, type=T, "
        "index=I, button_index=B, card_index=K, value=V joined by commas, value last "
        "(default: no fields)",
    )
    send.add_argument(
        "--caption",
        help="with --image, --video, --audio or --document: its caption (default: none)",
    )
    send.add_argument(
        "--reply-to",
        metavar="WAMID",
        help="with --text, --location or a file: reply to the message with this wamid "
        "(default: no reply)",
    )
    send.add_argument(
        "--buttons",
        metavar="ID:TITLE,...",
        help=f"with --text (the body): 1 to {MAX_BUTTONS} reply buttons (default: none)",
    )
    send.add_argument(
        "--list",
        metavar="LABEL",
        help="with --text (the body) and --section: send a list opened by a button with this "
        "label (default: no list)",
    )
    send.add_argument(
        "--section",
        action="append",
        default=[],
        metavar="SECTION",
        help="with --list, repeatable: a titled section of rows as "
        "TITLE=ID:TITLE[:DESCRIPTION],... (default: no sections)",
    )
    send.add_argument("--name", help="with --location: the place's name (default: none)")
    send.add_argument("--address", help="with --location: the place's address (default: none)")
    _add_connection_options(send)


def _add_timeline_parser(commands: Any) -> None:
    timeline = commands.add_parser(
        "timeline",
        help="print a chat's events, one per line",
        description="Print a chat's events, one per line, oldest first.",
        epilog=_TIMELINE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    timeline.add_argument("chat_id", metavar="CHAT_ID", help="the chat's UUID")
    timeline.add_argument(
        "--order",
        choices=[order.value for order in Order],
        default=Order.ASC.value,
        help="oldest first or newest first (default %(default)s)",
    )
    timeline.add_argument(
        "--limit", type=int, metavar="N", help="stop after N events (default: all of them)"
    )
    timeline.add_argument(
        "--search",
        metavar="TEXT",
        help="only the events the server's search matches (default: every event)",
    )
    timeline.add_argument(
        "--json",
        action="store_true",
        help="print the server's records as sent, one JSON object per line",
    )
    _add_connection_options(timeline)


def _add_chat_parser(commands: Any) -> None:
    chat = commands.add_parser(
        "chat",
        help="print a chat's fields",
        description="Print a chat's fields, one per line, or the server's object as sent.",
        epilog=_CHAT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument("chat_id", metavar="CHAT_ID", help="the chat's UUID")
    chat.add_argument(
        "--json", action="store_true", help="print the server's object as sent, on one line"
    )
    _add_connection_options(chat)


def _add_unread_parser(commands: Any) -> None:
    unread = commands.add_parser(
        "unread",
        help="print how many messages are unread, in how many chats",
        description="Print how many inbound messages are unread, and in how many chats.",
        epilog=_CHAT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    unread.add_argument(
        "--json", action="store_true", help="print the server's object as sent, on one line"
    )
    _add_connection_options(unread)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every command."""
    parser = SuggestingParser(
        prog="wegly-async",
        description="Talk to the Wegly API, or to its built-in emulator.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    emulator.add_argument(
        "--max-take", type=int, help="cap every page at this many records (default: no cap)"
    )
    emulator.add_argument(
        "--rate-limit",
        type=float,
        help="answer 429 past this many requests per second (default: no limit)",
    )
    emulator.add_argument(
        "--rate-burst",
        type=int,
        help="requests allowed at once under --rate-limit (default: one second's worth)",
    )

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
        help="requests in flight over all chats; with --queue, for each chat (default %(default)s)",
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
    export.add_argument(
        "--parquet-part-rows",
        type=int,
        default=DEFAULT_PARQUET_PART_ROWS,
        metavar="N",
        help="Parquet: write a part file every N events, in whole pages (default %(default)s)",
    )
    export.add_argument("--no-progress", action="store_true", help="print no progress")
    add_queue_options(export)
    _add_connection_options(export)

    _add_send_parser(commands)
    _add_timeline_parser(commands)
    _add_chat_parser(commands)
    _add_unread_parser(commands)
    add_webhook_parser(commands)
    add_lead_parser(commands, _add_connection_options)
    add_deal_parser(commands, _add_connection_options)
    add_queue_parsers(commands, _add_connection_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Imported once the arguments are parsed: ``--help`` and ``--version`` need no aiohttp.
    from ._chat import run_chat, run_unread
    from ._commands import run_emulator
    from ._crm import run_deal, run_lead
    from ._demo import run_demo
    from ._export import run_export
    from ._queue import run_export_status, run_worker_command
    from ._send import run_send
    from ._timeline import run_timeline
    from ._webhook import run_webhook

    runner = {
        "demo": run_demo,
        "emulator": run_emulator,
        "export": run_export,
        "send": run_send,
        "timeline": run_timeline,
        "chat": run_chat,
        "unread": run_unread,
        "webhook": run_webhook,
        "lead": run_lead,
        "deal": run_deal,
        "worker": run_worker_command,
        "export-status": run_export_status,
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
