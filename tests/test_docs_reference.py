"""Every name of every public ``__all__`` is documented in docs/reference/.

The reference lists its names one autodoc directive each (grouped by concept), so a new
public name must be added there; the docs build (``nox -s docs``, nitpicky) proves each
directive resolves, and this test that none is missing. A re-exported object (the models at
the top level and in ``wegly_async.types``) counts once, wherever it is documented.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference"
PUBLIC_MODULES = [
    "wegly_async",
    "wegly_async.types",
    "wegly_async.webhooks",
    "wegly_async.pagination",
    "wegly_async.export",
    "wegly_async.queue",
    "wegly_async.testing",
]
_DIRECTIVE_RE = re.compile(
    r"^\s*(?:\.\. auto(?:class|exception|function|data|attribute)::"
    r"|```\{auto(?:class|exception|function|data|attribute)\})\s*(?P<name>[\w.]+)",
    re.MULTILINE,
)


def documented_names() -> set[str]:
    """Return the dotted names the reference pages document with an autodoc directive."""
    pages = sorted(REFERENCE.glob("*.md"))
    assert pages, f"no reference pages in {REFERENCE}"
    return {match["name"] for page in pages for match in _DIRECTIVE_RE.finditer(page.read_text())}


def _resolve(dotted: str) -> object:
    module_name, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def _is_identifiable(value: object) -> bool:
    # Classes and functions are the same object wherever they are re-exported; a string or
    # an instance (``__version__``, ``NOT_GIVEN``) must be documented under its own name.
    return isinstance(value, type) or callable(value)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_in_the_reference(module_name: str) -> None:
    documented = documented_names()
    documented_objects = [_resolve(name) for name in documented]
    module = importlib.import_module(module_name)
    missing = []
    for name in module.__all__:
        value = getattr(module, name)
        if f"{module_name}.{name}" in documented:
            continue
        if _is_identifiable(value) and any(value is other for other in documented_objects):
            continue
        missing.append(name)
    assert not missing, f"add these names of {module_name} to docs/reference/: {missing}"


def test_the_reference_documents_only_names_that_exist() -> None:
    for name in documented_names():
        _resolve(name)  # an AttributeError or ImportError names the stale entry


def test_a_missing_name_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "client.md"
    page.write_text("```{eval-rst}\n.. autoclass:: wegly_async.WeglyClient\n```\n")
    monkeypatch.setattr(f"{__name__}.REFERENCE", tmp_path)
    assert documented_names() == {"wegly_async.WeglyClient"}
    with pytest.raises(AssertionError, match="Timeout"):
        test_every_public_name_is_in_the_reference("wegly_async")
