"""pytest start-up with wegly-async's plugin loaded, against the same run with it blocked.

Each run is ``python -m pytest --co -q`` on an empty directory in a fresh interpreter, so
the figure is what every pytest run on a machine with wegly-async installed pays: its
wall time, and its CPU time (user + system), which a passing load on a shared machine
disturbs less. The
plugin is this checkout's module, loaded by name (``-p``) exactly as the ``pytest11``
entry point loads it, so an older installed copy cannot stand in for it; the installed
entry point itself is blocked (``-p no:wegly_async``) in every contender.
"""

from __future__ import annotations

import os
import resource
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


def _start_up(directory: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Return the wall time and the CPU time (user + system) of one ``pytest --co`` run."""
    command = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 5):  # 5: no tests collected, as expected
        raise RuntimeError(f"pytest failed ({done.returncode}): {done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


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
    rounds = 3 if quick else 15
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    best = dict.fromkeys(CONTENDERS, float("inf"))
    best_cpu = dict.fromkeys(CONTENDERS, float("inf"))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pytest.ini").write_text("[pytest]\n")
        for _ in range(rounds):
            for name, args in CONTENDERS.items():
                wall, cpu = _start_up(directory, args, env)
                best[name], best_cpu[name] = min(best[name], wall), min(best_cpu[name], cpu)
        loaded = {name: _modules_loaded(directory, args, env) for name, args in CONTENDERS.items()}
    extra = {name: count - loaded["plugin blocked"] for name, count in loaded.items()}
    rows = []
    for label, times in (("", best), (" (CPU time)", best_cpu)):
        base = times["plugin blocked"]
        what = f"pytest --co on an empty directory{label}"
        rows += [
            Row("plugin", f"{what}, plugin blocked (baseline)", base * 1000, "ms"),
            Row(
                "plugin",
                f"{what}, with the plugin",
                times["with the plugin"] * 1000,
                "ms",
                ratio=times["with the plugin"] / base,
                baseline=f"plugin blocked (target <= {TARGET}x)",
            ),
            Row(
                "plugin",
                f"{what}, a plugin module inside wegly_async (the entry point before)",
                times["a plugin inside wegly_async"] * 1000,
                "ms",
                ratio=times["a plugin inside wegly_async"] / base,
                baseline="plugin blocked",
            ),
        ]
    return [
        *rows,
        Row("plugin", "modules the plugin adds to that run", extra["with the plugin"], "modules"),
        Row(
            "plugin",
            "modules a plugin inside wegly_async adds to that run",
            extra["a plugin inside wegly_async"],
            "modules",
        ),
    ]
