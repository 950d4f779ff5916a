"""``tools/check_dist.py`` (run by ``nox -s build``) fails on each thing a wheel or sdist can lack.

The package index's own description is also run here: its example must work as printed.
"""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
INFO = "wegly_async-1.0.dist-info"
METADATA = """\
Metadata-Version: 2.4
Name: wegly-async
Version: 1.0
Project-URL: Documentation, https://example.org/docs
Project-URL: Source, https://example.org/src
Project-URL: Changelog, https://example.org/changes
License-Expression: MIT
License-File: LICENSE
Description-Content-Type: text/markdown

# wegly-async

See [the changelog](https://example.org/changes).
"""
GOOD_WHEEL = {
    "wegly_async/__init__.py": "",
    "wegly_async/py.typed": "",
    "_wegly_async_pytestplugin.py": "",
    f"{INFO}/licenses/LICENSE": "MIT License",
    f"{INFO}/entry_points.txt": "[pytest11]\nwegly_async = _wegly_async_pytestplugin\n",
    f"{INFO}/METADATA": METADATA,
}
SDIST = ("LICENSE", "PKG-INFO", "README_INDEX.md", "_wegly_async_pytestplugin.py")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_dist", ROOT / "tools" / "check_dist.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_dist = _load()


def _dist(tmp_path: Path, wheel: dict[str, str], sdist: tuple[str, ...] = SDIST) -> Path:
    with zipfile.ZipFile(tmp_path / "wegly_async-1.0-py3-none-any.whl", "w") as archive:
        for name, text in wheel.items():
            archive.writestr(name, text)
    with tarfile.open(tmp_path / "wegly_async-1.0.tar.gz", "w:gz") as archive:
        for name in sdist:
            info = tarfile.TarInfo(f"wegly_async-1.0/{name}")
            archive.addfile(info, io.BytesIO(b""))
    return tmp_path


def test_a_complete_dist_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_dist.main([str(_dist(tmp_path, GOOD_WHEEL))]) == 0
    assert "LICENSE, py.typed and the plugin are in" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("missing", "complaint"),
    [
        ("wegly_async/py.typed", "no wegly_async/py.typed"),
        (f"{INFO}/licenses/LICENSE", f"no {INFO}/licenses/LICENSE"),
        ("_wegly_async_pytestplugin.py", "no _wegly_async_pytestplugin.py"),
        (f"{INFO}/entry_points.txt", "the pytest11 entry point"),
    ],
)
def test_a_wheel_missing_a_file_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str, complaint: str
) -> None:
    wheel = {name: text for name, text in GOOD_WHEEL.items() if name != missing}
    assert check_dist.main([str(_dist(tmp_path, wheel))]) == 1
    assert complaint in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("License-Expression: MIT", "License-Expression: GPL-3.0"), "not MIT"),
        (("License-File: LICENSE\n", ""), "License-File"),
        (("Project-URL: Changelog, https://example.org/changes\n", ""), "no Changelog"),
        (("(https://example.org/changes)", "(CHANGELOG.md)"), "relative link"),
        (("# wegly-async\n", "pip install -e '.[cli]'\n"), "contributor command"),
    ],
)
def test_bad_metadata_fails(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: tuple[str, str],
    complaint: str,
) -> None:
    wheel = {**GOOD_WHEEL, f"{INFO}/METADATA": METADATA.replace(*change)}
    assert check_dist.main([str(_dist(tmp_path, wheel))]) == 1
    assert complaint in capsys.readouterr().err


def test_an_sdist_without_the_license_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = _dist(tmp_path, GOOD_WHEEL, sdist=SDIST[1:])
    assert check_dist.main([str(dist)]) == 1
    assert "wegly_async-1.0.tar.gz: no LICENSE" in capsys.readouterr().err


def test_stale_builds_next_to_the_new_ones_fail(tmp_path: Path) -> None:
    dist = _dist(tmp_path, GOOD_WHEEL)
    (dist / "wegly_async-0.9-py3-none-any.whl").write_bytes(b"")
    assert check_dist.main([str(dist)]) == 1


def test_the_index_description_example_runs_as_printed() -> None:
    text = (ROOT / "README_INDEX.md").read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Olá! Recebemos seu pedido" in done.stdout
    assert len(done.stdout.splitlines()) == 2  # limit=2
