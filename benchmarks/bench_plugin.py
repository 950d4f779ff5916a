"""pytest start-up with wegly-async's plugin loaded, against the same run with it blocked.

Each run is ``python -m pytest --co -q`` on an empty directory in a fresh interpreter, so
the figure is what every pytest run on a machine with wegly-async installed pays. The
plugin is this checkout's module, loaded by name (``-p``) exactly as the ``pytest11``
entry point loads it, so an older installed copy cannot stand in for it; the installed
entry point itself is blocked (``-p no:wegly_async``) in every contender.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import Row

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ["-p", "no:wegly_async"]
CONTENDERS = {
    "plugin blocked": BLOCKED,
    "with the plugin": [*BLOCKED, "-p", "_wegly_async_pytestplugin"],
    # What the entry point loaded before: a module inside wegly_async runs its __init__.
    "a plugin inside wegly_async": [*BLOCKED, "-p", "wegly_async.testing._plugin"],
}
TARGET = 1.1


def _start_up(directory: Path, args: list[str], env: dict[str, str]) -> float:
    """Return the wall time of one ``pytest --co`` run on ``directory``."""
    command = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *args]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 5):  # 5: no tests collected, as expected
        raise RuntimeError(f"pytest failed ({done.returncode}): {done.stdout}{done.stderr}")
    return elapsed


_COUNT = "import sys, pytest; pytest.main(sys.argv[1:]); print(len(sys.modules), file=sys.stderr)"


def _modules_loaded(directory: Path, args: list[str], env: dict[str, str]) -> int:
    """Return how many modules are loaded once ``pytest --co`` on ``directory`` has run."""
    command = [sys.executable, "-c", _COUNT, "--co", "-q", "-p", "no:cacheprovider", *args]
    done = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return int(done.stderr.split()[-1])


def run(quick: bool) -> list[Row]:
    """Time pytest's start-up for each contender, in turns, best of several rounds."""
    rounds = 3 if quick else 11
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    best = dict.fromkeys(CONTENDERS, float("inf"))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pytest.ini").write_text("[pytest]\n")
        for _ in range(rounds):
            for name, args in CONTENDERS.items():
                best[name] = min(best[name], _start_up(directory, args, env))
        loaded = {name: _modules_loaded(directory, args, env) for name, args in CONTENDERS.items()}
    base = best["plugin blocked"]
    what = "pytest --co on an empty directory"
    extra = {name: count - loaded["plugin blocked"] for name, count in loaded.items()}
    return [
        Row("plugin", f"{what}, plugin blocked (baseline)", base * 1000, "ms"),
        Row(
            "plugin",
            f"{what}, with the plugin",
            best["with the plugin"] * 1000,
            "ms",
            ratio=best["with the plugin"] / base,
            baseline=f"plugin blocked (target <= {TARGET}x)",
        ),
        Row(
            "plugin",
            f"{what}, a plugin module inside wegly_async (the entry point before)",
            best["a plugin inside wegly_async"] * 1000,
            "ms",
            ratio=best["a plugin inside wegly_async"] / base,
            baseline="plugin blocked",
        ),
        Row("plugin", "modules the plugin adds to that run", extra["with the plugin"], "modules"),
        Row(
            "plugin",
            "modules a plugin inside wegly_async adds to that run",
            extra["a plugin inside wegly_async"],
            "modules",
        ),
    ]
