"""Sphinx configuration: furo, MyST pages, autodoc, and the command line's generated reference."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

from wegly_async import __version__  # noqa: E402

project = "wegly-async"
author = "wegly-async contributors"
copyright = "wegly-async contributors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "cli_reference",
]

html_theme = "furo"
html_title = f"wegly-async {__version__}"
exclude_patterns = ["_build"]
templates_path: list[str] = []

# Links between pages by heading (`[Errors](errors.md#the-error-tree)`) are checked at build time.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
# `nitpicky` (sphinx -n) makes every unresolved cross-reference a warning, and -W an error.
nitpicky = True

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Without intersphinx (it needs the network at build time) names from other projects cannot
# be linked: the standard library's and aiohttp's (and its multidict's) are shown as plain
# text. Our own names must all resolve.
STDLIB_MODULES = [
    "asyncio",
    "collections\\.abc",
    "contextlib",
    "datetime",
    "decimal",
    "enum",
    "os",
    "pathlib",
    "types",
    "typing",
]
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(STDLIB_MODULES)})(\..+)?"),
    (r"py:class", r"Decimal|Path|Self"),
    (r"py:.*", r"(aiohttp|multidict|yarl|redis)\..+"),
    (r"py:class", r"Redis"),  # redis.asyncio.Redis, named as the signature imports it
    # Type variables are placeholders in generic signatures, not something to link to.
    (r"py:class", r"(wegly_async\.[\w.]+\.)?T"),
]
