"""The ``wegly-async`` command line (``python -m wegly_async`` runs the same)."""

from ._main import main, run

__all__ = ["main", "run"]
