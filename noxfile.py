"""Test matrix: static checks, the suite on the newest aiohttp and on 3.13, the build, the docs.

aioresponses (newest 0.7.9) cannot build responses on aiohttp 3.14 (aioresponses issue
#289), so tests that fake HTTP with it (marker ``mocked``) run where aiohttp is 3.13;
everything else, loopback end-to-end tests included, runs on the newest aiohttp that
our users get.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests-latest", "tests-aiohttp313", "build", "docs"]


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff and mypy --strict."""
    session.install("-e", ".[lint,test,cli,bench,queue,parquet]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(name="tests-latest")
def tests_latest(session: nox.Session) -> None:
    """Run every test that needs no aioresponses on the newest aiohttp (with rich, pyarrow)."""
    session.install("-e", ".[test,cli,queue,parquet]", "--upgrade", "aiohttp")
    session.run("python", "-c", "import aiohttp; print('aiohttp', aiohttp.__version__)")
    session.run("pytest", "-m", "not mocked", *session.posargs)


@nox.session(name="tests-aiohttp313")
def tests_aiohttp313(session: nox.Session) -> None:
    """Run the whole suite, aioresponses unit tests included, on aiohttp 3.13 (without rich)."""
    session.install("-e", ".[test,queue,parquet]", "aiohttp>=3.13,<3.14")
    session.run("python", "-c", "import aiohttp; print('aiohttp', aiohttp.__version__)")
    session.run("pytest", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and wheel, run ``twine check --strict``, and check what the wheel holds."""
    session.install("build", "twine")
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    # build makes the wheel from the sdist, so a file missing from the sdist fails here.
    session.run("python", "-m", "build", "--outdir", str(dist))
    session.run("twine", "check", "--strict", *[str(path) for path in sorted(dist.iterdir())])
    session.run("python", "tools/check_dist.py", str(dist))
    # The wheel installs, and pytest finds both fixtures through the entry point.
    (wheel,) = dist.glob("*.whl")
    session.install(f"{wheel}[testing]")
    shown = session.run("python", "-m", "pytest", "--fixtures", "-q", str(dist), silent=True)
    if "wegly_emulator_factory" not in str(shown):
        session.error(f"pytest does not see the wheel's fixtures:\n{shown}")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs as CI does: any warning or unresolved cross-reference fails the build."""
    session.install("-e", ".[docs]")
    session.run(
        "python",
        "-m",
        "sphinx",
        "-E",
        "-W",
        "--keep-going",
        "-n",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark suite (not part of the default sessions): ``nox -s bench``."""
    session.install("-e", ".[bench,cli,parquet]")
    session.run("python", "-m", "benchmarks", *session.posargs)
