"""How numbers, times and JSON read on a page: short, unambiguous, UTC."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson

_MAX_CELL_CHARS = 120


def duration(ms: object) -> str:
    """`850 ms`, `3.20 s`, `2m 05s`, `1h 02m`; empty for a missing value."""
    value = _number(ms)
    if value is None:
        return ""
    if value == 0:
        return "0 ms"
    if value < 1:
        return f"{value:.2f} ms"
    if value < 1000:
        return f"{value:.0f} ms"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def when(ms: object) -> str:
    """`2024-05-01 10:02:03` (UTC) from epoch ms; empty for a missing value."""
    value = _number(ms)
    if value is None:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(ms: object) -> str:
    """`2024-05-01T10:02:03.123Z`, for `<time datetime>` and tooltips."""
    value = _number(ms)
    if value is None:
        return ""
    stamp = datetime.fromtimestamp(value / 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def cost(value: object) -> str:
    """`$1.23`, `$0.0123`, `$0.000095`: cents for dollars, four decimals down to a cent,
    then two significant digits in plain decimals (a price, not `9.5e-05`)."""
    number = _number(value)
    if number is None:
        return ""
    if number == 0:
        return "$0"
    if abs(number) >= 1:
        return f"${number:,.2f}"
    if abs(number) >= 0.01:
        return f"${number:.4f}"
    places = 1 - math.floor(math.log10(abs(number)))
    return f"${number:.{places}f}"


def count(value: object) -> str:
    """`12,345` for whole numbers, `12.5` otherwise; empty for none."""
    number = _number(value)
    if number is None:
        return ""
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def pretty_json(value: Any) -> str:
    """Indented JSON for a detail pane (non-JSON values as their repr)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=repr).decode()


def cell(value: Any) -> str:
    """One table cell of any JSON value, cut to a readable length."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = count(value)
    else:
        text = orjson.dumps(value, default=repr).decode()
    return text if len(text) <= _MAX_CELL_CHARS else text[: _MAX_CELL_CHARS - 1] + "…"


def score(value: object) -> str:
    """A metric value: `true`/`false`, a number to at most three decimals (`0.833`, `12`,
    `-0.05`, `1,234.5`), text as it is; empty for none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    number = _number(value)
    if number is None:
        return ""
    if abs(number) >= 1000:
        return f"{number:,.1f}".removesuffix(".0")
    text = f"{number:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed(value: object) -> str:
    """A difference: `+0.12`, `-3`, `0`; empty for none."""
    number = _number(value)
    if number is None:
        return ""
    text = score(number)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
