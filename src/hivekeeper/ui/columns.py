"""The explorer's columns: those shown by default, and the value a column names in a
rendered event (the events page's cells, the export's columns, the detail's metadata)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_COLUMNS = (
    "start_time",
    "event_type",
    "event_name",
    "duration",
    "config.model",
    "metadata.total_tokens",
    "metadata.cost",
    "error",
)


def value_at(event: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a rendered event (array indices as digits), or None."""
    current: Any = event
    for segment in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(segment)
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return None
    return current
