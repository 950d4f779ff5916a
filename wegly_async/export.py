"""Export chat timelines to JSONL or CSV files, concurrently, losslessly and resumably."""

from ._export import (
    CSV_COLUMNS,
    ChatExport,
    ExportFormat,
    ExportProgress,
    ExportResult,
    export_timelines,
)

__all__ = [
    "CSV_COLUMNS",
    "ChatExport",
    "ExportFormat",
    "ExportProgress",
    "ExportResult",
    "export_timelines",
]
