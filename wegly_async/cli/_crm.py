"""``wegly-async lead create`` and ``deal get``: the CRM from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .._constants import MAX_RECORD_TITLE

__all__ = ["add_deal_parser", "add_lead_parser", "run_deal", "run_lead"]

ConnectionOptions = Callable[[argparse.ArgumentParser], None]

_LEAD_EXAMPLES = """\
examples:
  wegly-async lead create --title "Formulário do site: Ana" --phone +5511999990000 \\
      --email ana@example.com --tag site --tag demo --note "Quer uma demonstração"
  wegly-async lead create --title "Landing page: Bruno" --email bruno@example.com
  wegly-async lead create --title "Site: Carla" --phone +5511988887777 --json

It prints "created lead ID code N: TITLE"; with --json, the server's answer as sent.
"""

_DEAL_EXAMPLES = """\
examples:
  wegly-async deal get DEAL_ID              # the deal's fields, one per line
  wegly-async deal get DEAL_ID --json       # the server's object as sent
  wegly-async deal get DEAL_ID --json | jq -r .stage.name
"""


def add_lead_parser(commands: Any, connection_options: ConnectionOptions) -> None:
    """Add ``lead create`` to the command line's subparsers."""
    lead = commands.add_parser(
        "lead",
        help="create a lead (a web form's, an ad platform's) in one command",
        description="Create a lead, as a web form or an ad platform would.",
        epilog=_LEAD_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = lead.add_subparsers(dest="lead_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create a lead and print its id, code and title",
        description="Create a lead and print its id, its code (its number in the company) "
        "and its title.",
        epilog=_LEAD_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument(
        "--title",
        required=True,
        help=f"the lead's title, 1 to {MAX_RECORD_TITLE} characters (required)",
    )
    create.add_argument("--phone", help="the contact's phone number (default: none)")
    create.add_argument("--email", help="the contact's email address (default: none)")
    create.add_argument(
        "--tag",
        action="append",
        default=[],
        dest="tags",
        metavar="TAG",
        help="repeatable: a tag for the lead (default: no tags)",
    )
    create.add_argument("--note", help="a first note on the lead (default: no note)")
    create.add_argument(
        "--json", action="store_true", help="print the server's answer as sent, on one line"
    )
    connection_options(create)


def add_deal_parser(commands: Any, connection_options: ConnectionOptions) -> None:
    """Add ``deal get`` to the command line's subparsers."""
    deal = commands.add_parser(
        "deal",
        help="print a deal's fields",
        description="Read deals: their stage, people and source.",
        epilog=_DEAL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = deal.add_subparsers(dest="deal_command", required=True, metavar="ACTION")
    get = actions.add_parser(
        "get",
        help="print a deal's fields, one per line",
        description="Print a deal's fields, one per line, or the server's object as sent.",
        epilog=_DEAL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    get.add_argument("deal_id", metavar="DEAL_ID", help="the deal's UUID")
    get.add_argument(
        "--json", action="store_true", help="print the server's object as sent, on one line"
    )
    connection_options(get)


async def run_lead(args: argparse.Namespace) -> int:
    """Run ``lead create``."""
    from ._records import create_lead

    return await create_lead(args)


async def run_deal(args: argparse.Namespace) -> int:
    """Run ``deal get``."""
    from ._records import get_deal

    return await get_deal(args)
