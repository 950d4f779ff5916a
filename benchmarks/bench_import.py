"""Import time of ``wegly_async`` in a fresh interpreter, against ``aiohttp`` alone."""

from __future__ import annotations

import subprocess
import sys

from ._common import Row

_PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _import_seconds(module: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        best = min(best, float(out.stdout))
    return best


def run(quick: bool) -> list[Row]:
    """Time the imports, best of several fresh interpreters."""
    repeat = 3 if quick else 7
    base = _import_seconds("aiohttp", repeat)
    ours = _import_seconds("wegly_async", repeat)
    return [
        Row("import", "import aiohttp (baseline)", base * 1000, "ms"),
        Row(
            "import", "import wegly_async", ours * 1000, "ms", ratio=ours / base, baseline="aiohttp"
        ),
    ]
