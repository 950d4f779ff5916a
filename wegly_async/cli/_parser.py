"""An argument parser that says which option a mistyped one probably meant."""

from __future__ import annotations

import argparse
import difflib
import itertools
import re
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["SuggestingParser"]

# A value rather than an option: "-", "-5", "-0.5", and a list of numbers such as the
# coordinates "-23.55,-46.63" (argparse alone would take that for an unknown option).
_NUMBER = r"-?(?:\d+|\d*\.\d+)"
_NOT_AN_OPTION_RE = re.compile(rf"-|-(?:\d+|\d*\.\d+)(?:,{_NUMBER})*")


class SuggestingParser(argparse.ArgumentParser):
    """Refuse an unknown option with the closest known one, before anything else is checked.

    Argparse would report a mistyped ``--txt`` as a missing ``--text`` (or echo the whole
    rest of the line, a token included); this names just the unknown option and a guess.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Argparse's own test for "a negative number, so a value": one rule with ours.
        self._negative_number_matcher = re.compile(rf"^(?:{_NOT_AN_OPTION_RE.pattern})$")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse like argparse, but never echo a leftover argument: it may be the token."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(
                f"{len(extras)} unexpected argument(s), not shown (one may be the token): "
                "quote a text that has spaces, and give each option once"
            )
        return parsed

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        arg_list = list(sys.argv[1:] if args is None else args)
        if self._subparsers is None:  # a command's own parser, which knows all its options
            unknown = self._unknown_option(arg_list)
            if unknown is not None:
                self.error(self._unknown_message(unknown))
        else:
            # Before the command only the parser's own options can come; what follows an
            # unknown one (``--token SECRET send``) would be echoed as an invalid command.
            head = list(itertools.takewhile(lambda arg: arg.startswith("-"), arg_list))
            unknown = self._unknown_option(head)
            if unknown is not None:
                self.error(
                    f"unrecognized option {unknown} before the command: "
                    f"options go after it ({self.prog} COMMAND {unknown} ...)"
                )
        return super().parse_known_args(arg_list, namespace)

    def _options(self) -> list[str]:
        return [option for action in self._actions for option in action.option_strings]

    def _unknown_option(self, args: list[str]) -> str | None:
        options = self._options()
        for arg in args:
            if arg == "--":
                return None
            if not arg.startswith("-") or " " in arg or _NOT_AN_OPTION_RE.fullmatch(arg):
                continue
            name = arg.partition("=")[0] if arg.startswith("--") else arg[:2]
            if name in options:
                continue
            prefixed = [option for option in options if option.startswith(name)]
            # An ambiguous abbreviation is left to argparse, which lists what it could mean.
            if not (arg.startswith("--") and self.allow_abbrev and prefixed):
                return name
        return None

    def _unknown_message(self, name: str) -> str:
        longs = [option for option in self._options() if option.startswith("--")]
        close = difflib.get_close_matches(name, longs, n=1, cutoff=0.6)
        if close:
            return f"unrecognized option {name}: did you mean {close[0]}?"
        return f"unrecognized option {name} (see {self.prog} --help)"
