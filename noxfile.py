"""Test matrix: static checks, the suite on the newest aiohttp, and the mocked suite on 3.13.

aioresponses (newest 0.7.9) cannot build responses on aiohttp 3.14 (aioresponses issue
#289), so tests that fake HTTP with it (marker ``mocked``) run where aiohttp is 3.13;
everything else, loopback end-to-end tests included, runs on the newest aiohttp that
our users get.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests-latest", "tests-aiohttp313"]


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff and mypy --strict."""
    session.install("-e", ".[lint,test,cli,bench,parquet]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(name="tests-latest")
def tests_latest(session: nox.Session) -> None:
    """Run every test that needs no aioresponses on the newest aiohttp (with rich, pyarrow)."""
    session.install("-e", ".[test,cli,parquet]", "--upgrade", "aiohttp")
    session.run("python", "-c", "import aiohttp; print('aiohttp', aiohttp.__version__)")
    session.run("pytest", "-m", "not mocked", *session.posargs)


@nox.session(name="tests-aiohttp313")
def tests_aiohttp313(session: nox.Session) -> None:
    """Run the whole suite, aioresponses unit tests included, on aiohttp 3.13 (without rich)."""
    session.install("-e", ".[test,parquet]", "aiohttp>=3.13,<3.14")
    session.run("python", "-c", "import aiohttp; print('aiohttp', aiohttp.__version__)")
    session.run("pytest", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark suite (not part of the default sessions): ``nox -s bench``."""
    session.install("-e", ".[bench,cli,parquet]")
    session.run("python", "-m", "benchmarks", *session.posargs)
