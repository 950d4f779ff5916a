"""The export's settings as the command line gives them, for an export here or queued."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["export_settings"]


def export_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Return the export's settings from its options, as ``export_timelines`` takes them."""
    return {
        "format": args.format,
        "order": args.order,
        "take": args.take,
        "concurrency": args.concurrency,
        "fsync": args.fsync,
        "csv_formulas": args.csv_formulas,
        "csv_bom": args.bom,
        "parquet_part_rows": args.parquet_part_rows,
    }
