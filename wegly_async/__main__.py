"""Run the command line: ``python -m wegly_async ...``."""

from .cli import run

if __name__ == "__main__":
    run()
