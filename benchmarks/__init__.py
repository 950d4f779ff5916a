"""Benchmarks for wegly-async: run ``python -m benchmarks`` from the repository root."""
