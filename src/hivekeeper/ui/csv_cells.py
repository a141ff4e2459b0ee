"""CSV a spreadsheet opens as data: no cell the client wrote can run as a formula.

Event names, errors and every other string come from clients. Excel, LibreOffice and
Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK`
leaking other cells, `+cmd|' /C calc'!A0` starting a program through DDE), and skip a
leading tab or carriage return before deciding. As OWASP's CSV injection advice says,
such a cell is written with a single quote in front, which spreadsheets show as text;
and every field is quoted, so a separator inside a value (`;` in locales that split
on it) never starts a cell of its own.

Numbers stay numbers: a JSON number, and a string that is nothing but a decimal number
(`-12.5`, `+3`, `-1e-3`), cannot hold a formula, so `-1.5` is written as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

import orjson

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> str:
    """`value` as the text of one cell: strings as they are (neutralised when they
    could run as a formula), numbers in their shortest form, booleans as `true`/`false`,
    objects and arrays as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            return repr(value)
        return str(int(value))
    return orjson.dumps(value, default=repr).decode()


def csv_lines(rows: Sequence[Sequence[str]]) -> bytes:
    """`rows` of cells as CSV lines (RFC 4180: CRLF, every field quoted), UTF-8."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return out.getvalue().encode()


def _text(text: str) -> str:
    if text.startswith(_FORMULA_TRIGGERS) and not _DECIMAL.fullmatch(text):
        return "'" + text
    return text
