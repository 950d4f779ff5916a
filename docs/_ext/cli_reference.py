"""A ``wegly-cli`` directive: the command line's reference, rendered from its argparse parser.

Each command and sub-command gets a section (``wegly-async send``, ``wegly-async webhook
listen``) holding its ``--help`` text exactly as a terminal shows it, so the reference cannot
drift from the parser.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Iterator
from typing import Any

from docutils import nodes
from docutils.nodes import Element
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective

# argparse wraps to the terminal's width; a fixed one makes the build reproducible.
HELP_WIDTH = "88"
# The modules whose ``__all__`` is the public API, where the reference documents each name.
PUBLIC_MODULES = (
    "wegly_async",
    "wegly_async.webhooks",
    "wegly_async.export",
    "wegly_async.testing",
)


def iter_commands(
    parser: argparse.ArgumentParser, name: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Yield ``(command line, parser)`` for a parser and each of its sub-commands, depth first."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub_parser in action.choices.items():
                yield from iter_commands(sub_parser, f"{name} {sub_name}")


def render_help(parser: argparse.ArgumentParser) -> str:
    """Return a parser's ``--help`` text at the reference's fixed width."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        return parser.format_help()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


class CliReference(SphinxDirective):
    """Render every command of ``wegly_async.cli`` as a section with its help text."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from wegly_async.cli._main import build_parser

        parser = build_parser()
        sections: list[nodes.Node] = []
        for command, sub_parser in iter_commands(parser, parser.prog):
            section = nodes.section()
            # ``{ref}`cli-wegly-async-export``` links to a command from any page.
            label = "cli-" + command.replace(" ", "-")
            section["ids"] = [label]
            section["names"] = [label]
            section += nodes.title(command, "", nodes.literal(command, command))
            text = render_help(sub_parser)
            section += nodes.literal_block(text, text, language="text")
            self.state.document.note_explicit_target(section)
            sections.append(section)
        return sections


def public_name(target: str) -> str | None:
    """Return the public name (``wegly_async.X``) of an object a signature names privately."""
    module_name, _, name = target.rpartition(".")
    if not module_name.startswith("wegly_async.") or not name:
        return None
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return None
    for public in PUBLIC_MODULES:
        module = importlib.import_module(public)
        if name in module.__all__ and getattr(module, name) is obj:
            return f"{public}.{name}"
    return None


def resolve_private_alias(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Element
) -> Element | None:
    """Link ``wegly_async._pipeline.RawResponse`` (a generic alias keeps it) to its public name.

    A class is renamed to its public module when the package is imported, but a subscripted
    alias such as ``RawResponse[SendResult]`` made before that keeps the private one.
    """
    if node.get("refdomain") != "py":
        return None
    public = public_name(node["reftarget"])
    if public is None:
        return None
    domain = env.domains["py"]
    node["reftarget"] = public
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
    )


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``wegly-cli`` directive and the private-alias resolver."""
    app.add_directive("wegly-cli", CliReference)
    app.connect("missing-reference", resolve_private_alias)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
