"""Check a built wheel and sdist hold what users need: ``python tools/check_dist.py DIST_DIR``.

``twine check`` proves the description renders; this proves the files that matter are
inside (the license, ``py.typed``, the light pytest plugin the entry point names) and that
the description is the package index's own, with no link that is dead off the repository.
"""

from __future__ import annotations

import email.parser
import re
import sys
import tarfile
import zipfile
from pathlib import Path

WHEEL_FILES = ("wegly_async/py.typed", "_wegly_async_pytestplugin.py")
SDIST_FILES = ("LICENSE", "PKG-INFO", "README_INDEX.md", "_wegly_async_pytestplugin.py")
PLUGIN_ENTRY_POINT = "wegly_async = _wegly_async_pytestplugin"
# A markdown link or image whose target is not absolute: dead on the package index.
RELATIVE_LINK = re.compile(r"\]\((?!https?://|mailto:)[^)]*\)")
CONTRIBUTOR_ONLY = ("pip install -e", ".venv/bin/nox")


def wheel_problems(path: Path) -> list[str]:
    """Return what is missing or wrong in the wheel at ``path`` (nothing when it is fine)."""
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        problems = [f"{path.name}: no {name}" for name in WHEEL_FILES if name not in names]
        dist_info = {name.split("/")[0] for name in names if ".dist-info/" in name}
        if len(dist_info) != 1:
            return [*problems, f"{path.name}: expected one .dist-info, found {sorted(dist_info)}"]
        (info,) = dist_info
        if f"{info}/licenses/LICENSE" not in names:
            problems.append(f"{path.name}: no {info}/licenses/LICENSE")
        entry_points = f"{info}/entry_points.txt"
        if entry_points not in names or PLUGIN_ENTRY_POINT not in wheel.read(entry_points).decode():
            problems.append(f"{path.name}: the pytest11 entry point is not {PLUGIN_ENTRY_POINT!r}")
        metadata = wheel.read(f"{info}/METADATA").decode()
    return problems + [f"{path.name}: {p}" for p in metadata_problems(metadata)]


def metadata_problems(text: str) -> list[str]:
    """Return what is wrong in core metadata ``text``: license, URLs, the description."""
    message = email.parser.Parser().parsestr(text)
    problems = []
    if message.get("License-Expression") != "MIT":
        problems.append("License-Expression is not MIT")
    if "LICENSE" not in message.get_all("License-File", []):
        problems.append("License-File does not name LICENSE")
    urls = {value.split(",")[0] for value in message.get_all("Project-URL", [])}
    problems += [
        f"no {label} project URL"
        for label in ("Documentation", "Source", "Changelog")
        if label not in urls
    ]
    description = str(message.get_payload())
    problems += [
        f"relative link in the description: {m}" for m in RELATIVE_LINK.findall(description)
    ]
    problems += [
        f"the description holds a contributor command ({c!r})"
        for c in CONTRIBUTOR_ONLY
        if c in description
    ]
    return problems


def sdist_problems(path: Path) -> list[str]:
    """Return what is missing in the sdist at ``path`` (nothing when it is fine)."""
    with tarfile.open(path) as sdist:
        names = {name.partition("/")[2] for name in sdist.getnames()}
    return [f"{path.name}: no {name}" for name in SDIST_FILES if name not in names]


def main(argv: list[str]) -> int:
    """Check the one wheel and the one sdist in the directory given; exit 1 on any problem."""
    if len(argv) != 1:
        print("usage: python tools/check_dist.py DIST_DIR", file=sys.stderr)
        return 2
    dist = Path(argv[0])
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(
            f"expected one wheel and one sdist in {dist}, found {wheels + sdists}", file=sys.stderr
        )
        return 1
    problems = wheel_problems(wheels[0]) + sdist_problems(sdists[0])
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{wheels[0].name} and {sdists[0].name}: LICENSE, py.typed and the plugin are in")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
