"""The values of ``send --buttons`` and ``--section``, read into the library's own models.

The models check WhatsApp's limits themselves (``wa.Button``, ``wa.ListRow``,
``wa.ListSection``), so their messages are the ones a user sees, after the flag and the
piece of its value that broke them.
"""

from __future__ import annotations

from ..types.chats import Button, ListRow, ListSection
from ._exits import UsageError, usage_errors

__all__ = ["parse_buttons", "parse_section"]


def parse_buttons(spec: str) -> list[Button]:
    """Read ``ID:TITLE,ID:TITLE,...`` (a title may hold colons, not commas) into buttons."""
    buttons = []
    for piece in spec.split(","):
        button_id, colon, title = piece.partition(":")
        if not colon:
            raise UsageError(
                f"--buttons must look like ID:TITLE,ID:TITLE (e.g. sim:Sim,nao:Não), got {piece!r}"
            )
        with usage_errors(f"--buttons {piece.strip()!r}: "):
            buttons.append(Button(button_id.strip(), title.strip()))
    return buttons


def parse_section(spec: str) -> ListSection:
    """Read ``TITLE=ID:TITLE[:DESCRIPTION],...`` (a description may hold colons) into a section."""
    title, equals, rows_spec = spec.partition("=")
    pieces = rows_spec.split(",")
    if not equals or not all(":" in piece for piece in pieces):
        raise UsageError(
            "--section must look like TITLE=ID:TITLE[:DESCRIPTION],... "
            f"(e.g. Manhã=h9:9h,h10:10h:até 10h30), got {spec!r}"
        )
    rows = []
    for piece in pieces:
        row_id, _, rest = piece.partition(":")
        row_title, _, description = rest.partition(":")
        with usage_errors(f"--section {piece.strip()!r}: "):
            rows.append(ListRow(row_id.strip(), row_title.strip(), description.strip() or None))
    with usage_errors(f"--section {title.strip()!r}: "):
        return ListSection(title.strip(), rows)
