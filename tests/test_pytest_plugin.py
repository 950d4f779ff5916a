"""The pytest plugin: light to load, and its fixtures in pytest-asyncio's strict and auto modes.

The plugin is the module the ``pytest11`` entry point names; these tests load this
checkout's copy explicitly (``-p``) in child pytest runs with plugin autoloading off, so
an older installed copy cannot stand in for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "_wegly_async_pytestplugin"
# What the fixtures would load if the plugin imported them at start-up.
HEAVY = ("aiohttp", "wegly_async", "attrs", "cattrs", "orjson", "multidict", "yarl")


def _env(*first: Path) -> dict[str, str]:
    path = os.pathsep.join([*map(str, first), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run_pytest(
    directory: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``directory`` in a child with only the plugins named in ``args`` loaded."""
    # An ini file of its own keeps the child from reading this repository's.
    ini = "asyncio_default_fixture_loop_scope = function\n" if "asyncio" in args else ""
    (directory / "pytest.ini").write_text(f"[pytest]\n{ini}")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", "-q"]
    return subprocess.run(
        [*command, *args, str(directory)],
        cwd=directory,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_entry_point_names_the_top_level_plugin_and_the_wheel_ships_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["pytest11"] == {"wegly_async": PLUGIN}
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert f"{PLUGIN}.py" in wheel["only-include"]


def test_importing_the_plugin_loads_nothing_but_itself() -> None:
    # pytest and pytest-asyncio are loaded by pytest itself before any plugin of ours.
    code = (
        "import json, sys, pytest, pytest_asyncio; before = set(sys.modules); "
        f"import {PLUGIN} as plugin; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == [PLUGIN]


def test_the_plugin_loads_none_of_the_sdk_even_with_nothing_imported_before() -> None:
    code = f"import json, sys; import {PLUGIN}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = json.loads(out.stdout)
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []


TESTS = """
import pytest

STARTED = []


{mark}
async def test_the_fixture_serves_the_api(wegly_emulator) -> None:
    chat = wegly_emulator.create_chat(events=3, seed=1)
    async with wegly_emulator.client() as client:
        await client.chats.send_text(chat, "{mode}")
        events = await client.chats.timeline(chat).to_list()
    assert [e.message.body_text for e in events][-1] == "{mode}"
    assert len(events) == 4


{mark}
async def test_the_factory_applies_options(wegly_emulator_factory) -> None:
    capped = await wegly_emulator_factory(max_take=2, token="tok-{mode}")
    plain = await wegly_emulator_factory()
    STARTED.extend([capped, plain])
    assert capped.token == "tok-{mode}" and capped.port != plain.port
    chat = capped.create_chat(events=5, seed=2)
    async with capped.client() as client:
        page = await anext(client.chats.timeline(chat, take=5).pages())
    assert len(page.records) == 2


def test_the_factory_closed_every_emulator_it_started() -> None:
    assert len(STARTED) == 2
    for emulator in STARTED:
        with pytest.raises(RuntimeError, match="not running"):
            emulator.port
"""


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_the_fixtures_work_in_strict_mode_with_the_marker_and_in_auto_mode(
    tmp_path: Path, mode: str
) -> None:
    mark = "@pytest.mark.asyncio" if mode == "strict" else ""
    (tmp_path / "test_uses_fixtures.py").write_text(TESTS.format(mark=mark, mode=mode))
    done = run_pytest(tmp_path, "-p", "asyncio", "-p", PLUGIN, f"--asyncio-mode={mode}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_old_entry_point_module_still_gives_the_fixtures(tmp_path: Path) -> None:
    # An editable install made before the entry point moved still names this module.
    (tmp_path / "test_uses_fixtures.py").write_text(TESTS.format(mark="", mode="old"))
    done = run_pytest(
        tmp_path, "-p", "asyncio", "-p", "wegly_async.testing._plugin", "--asyncio-mode=auto"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_a_run_that_uses_no_fixture_never_loads_the_sdk(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(f"""
            import sys

            def test_nothing_heavy_is_loaded() -> None:
                loaded = [m for m in sys.modules if m.split(".")[0] in {HEAVY!r}]
                assert loaded == []
        """)
    )
    done = run_pytest(tmp_path, "-p", "asyncio", "-p", PLUGIN, "--asyncio-mode=strict")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_without_pytest_asyncio_the_fixtures_say_what_to_install(tmp_path: Path) -> None:
    # A pytest_asyncio that fails to import stands for one that is not installed.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pytest_asyncio.py").write_text("raise ImportError('not installed')\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_needs_it.py").write_text(
        "def test_emulator(wegly_emulator):\n    pass\n\n"
        "def test_factory(wegly_emulator_factory):\n    pass\n"
    )
    done = run_pytest(tests, "-p", PLUGIN, env=_env(shadow))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 errors" in done.stdout
    assert done.stdout.count("pip install 'wegly-async[testing]'") >= 2
