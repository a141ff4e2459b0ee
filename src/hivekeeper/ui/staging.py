"""The import staging area: an uploaded CSV or JSONL file, read and checked row by row
on disk before one op commits it to a dataset.

Where: `<data_dir>/imports/<project id>/<import id>/`, holding the upload as sent,
`rows.jsonl` (each good row with its line number) and `status.json` (what a status
page shows: rows read, errors so far, columns found), replaced atomically as reading
goes on. Not a store table: a staged file is not data yet; it must not cost a
migration on three engines, a place in backups, or a trip through the writer, and it
must stay out of the database when it is never committed. Every server process of one
machine shares the data directory, so any of them answers its status page.

Bounds: an upload is at most `max_body_bytes` (as an API body), `max_batch_events`
rows (as an API batch), each row within the API's JSON limits; a project keeps at
most `MAX_STAGED` staged imports, and one older than `KEEP_MS` is removed when the
next upload of the project arrives. Committing or cancelling removes it at once.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, cast

import orjson

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.limits import JsonLimits, check_json
from hivekeeper.domain.types import JsonObject

log = logging.getLogger(__name__)

Format = Literal["csv", "jsonl"]
State = Literal["validating", "ready", "failed"]
MAX_STAGED = 10
"""Staged imports one project keeps; the oldest goes when another arrives."""
KEEP_MS = 24 * 3_600_000.0
"""How long an import nobody committed or cancelled is kept."""
STALE_MS = 60_000.0
"""A check that has not reported for this long was interrupted (the server stopped)."""
MAX_ERRORS = 50
"""Errors a status keeps (all are counted): the first ones say what to fix."""
MAX_COLUMNS = 1000
_REPORT_EVERY_ROWS = 500
_REPORT_EVERY_S = 0.25
_IMPORT_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class RowError:
    """What is wrong, where: a line of the file (1 is the first) and a column."""

    line: int
    column: str | None
    message: str


@dataclass(slots=True)
class Status:
    """A staged import as its status page shows it."""

    dataset_id: str
    filename: str
    format: Format
    size_bytes: int
    created_ms: float
    updated_ms: float
    state: State = "validating"
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def fail(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)

    def interrupted(self, now_ms: float) -> bool:
        return self.state == "validating" and now_ms - self.updated_ms > STALE_MS


@dataclass(frozen=True, slots=True)
class StagedImport:
    """One staged import's directory."""

    id: str
    path: Path

    @property
    def upload(self) -> Path:
        return self.path / "upload"

    @property
    def rows_file(self) -> Path:
        return self.path / "rows.jsonl"

    def status(self) -> Status:
        raw = orjson.loads((self.path / "status.json").read_bytes())
        raw["errors"] = [RowError(**e) for e in raw["errors"]]
        return Status(**raw)

    def save(self, status: Status) -> None:
        """Replace the status atomically: a reader sees the old one or the new one."""
        temporary = self.path / f"status.{uuid.uuid4().hex}.tmp"
        temporary.write_bytes(orjson.dumps(asdict(status)))
        os.replace(temporary, self.path / "status.json")

    def rows(self) -> Iterator[tuple[int, JsonObject]]:
        """The good rows with their line numbers, in file order."""
        with self.rows_file.open("rb") as lines:
            for text in lines:
                line, row = orjson.loads(text)
                yield int(line), cast(JsonObject, row)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class Staging:
    """The staging area under a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "imports"

    def create(
        self, project_id: str, dataset_id: str, filename: str, fmt: Format, now_ms: float
    ) -> tuple[StagedImport, Status]:
        """A new staged import (its upload yet to be written), after removing the
        project's expired imports and, past `MAX_STAGED`, its oldest."""
        self._sweep(project_id, now_ms)
        import_id = uuid.uuid4().hex
        staged = StagedImport(import_id, self.root / project_id / import_id)
        staged.path.mkdir(parents=True)
        status = Status(dataset_id, filename[:200], fmt, 0, now_ms, now_ms)
        staged.save(status)
        return staged, status

    def get(self, project_id: str, dataset_id: str, import_id: str) -> StagedImport | None:
        """The staged import of this project and dataset, else None (ids that are not
        ours never reach the file system)."""
        if not _IMPORT_ID.fullmatch(import_id):
            return None
        staged = StagedImport(import_id, self.root / project_id / import_id)
        try:
            status = staged.status()
        except (OSError, ValueError, TypeError):
            return None
        return staged if status.dataset_id == dataset_id else None

    def of_dataset(self, project_id: str, dataset_id: str) -> list[tuple[StagedImport, Status]]:
        """The dataset's staged imports, newest first."""
        found = []
        for path in self._dirs(project_id):
            staged = self.get(project_id, dataset_id, path.name)
            if staged is not None:
                found.append((staged, staged.status()))
        return sorted(found, key=lambda pair: -pair[1].created_ms)

    def _dirs(self, project_id: str) -> list[Path]:
        folder = self.root / project_id
        if not folder.is_dir():
            return []
        return [p for p in folder.iterdir() if p.is_dir() and _IMPORT_ID.fullmatch(p.name)]

    def _sweep(self, project_id: str, now_ms: float) -> None:
        dirs = sorted(self._dirs(project_id), key=lambda p: p.stat().st_mtime)
        for i, path in enumerate(dirs):
            expired = now_ms - path.stat().st_mtime * 1000 > KEEP_MS
            if expired or len(dirs) - i >= MAX_STAGED:
                shutil.rmtree(path, ignore_errors=True)


def format_of(filename: str, chosen: str) -> Format:
    """The file's format: `chosen` (csv or jsonl), else by its name's extension."""
    if chosen in ("csv", "jsonl"):
        return cast(Format, chosen)
    if chosen:
        raise ValidationFailed("format must be csv or jsonl", field="format")
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv", ".txt")) or not name:
        return "csv"
    raise ValidationFailed(
        f"cannot tell the format of {filename!r}; choose CSV or JSONL", field="format"
    )


def check(
    staged: StagedImport, limits: JsonLimits, max_rows: int, now: Callable[[], float]
) -> None:
    """Read the upload row by row into `rows.jsonl`, reporting progress and every
    error (line and column) in the status; runs in a worker thread. Whatever happens,
    the status ends `ready` or `failed`."""
    status = staged.status()
    status.size_bytes = staged.upload.stat().st_size
    last_report = time.monotonic()
    try:
        with staged.upload.open("rb") as upload, staged.rows_file.open("wb") as out:
            reader = _csv_rows if status.format == "csv" else _jsonl_rows
            for line, row, error in reader(upload, status, limits.max_string_chars):
                if error is None and row is not None:
                    try:
                        check_json(row, limits)
                    except ValidationFailed as exc:
                        error = RowError(line, exc.field, exc.message)
                if error is not None:
                    status.fail(error)
                elif status.rows >= max_rows:
                    message = f"more than {max_rows:,} rows; at most {max_rows:,} at once"
                    status.fail(RowError(line, None, f"{message} (max_batch_events)"))
                    break
                else:
                    status.rows += 1
                    if not status.error_count:  # a failed import keeps no rows
                        out.write(orjson.dumps([line, row]) + b"\n")
                due = time.monotonic() - last_report > _REPORT_EVERY_S
                if due or not status.rows % _REPORT_EVERY_ROWS:
                    status.updated_ms = now()
                    staged.save(status)
                    last_report = time.monotonic()
        if not status.rows and not status.error_count:
            status.fail(RowError(1, None, "the file holds no rows"))
        status.state = "failed" if status.error_count else "ready"
    except Exception as exc:  # the status must end whatever went wrong; the log says what
        log.exception("checking staged import %s failed", staged.id)
        status.fail(RowError(0, None, f"the file could not be read: {exc}"))
        status.state = "failed"
    status.updated_ms = now()
    staged.save(status)


def _lines(upload: Iterable[bytes]) -> Iterator[tuple[int, str | None, RowError | None]]:
    """The file's lines as text, numbered from 1; a line that is not UTF-8 is an error."""
    for number, raw in enumerate(upload, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield number, raw.decode(), None
        except UnicodeDecodeError as exc:
            yield number, None, RowError(number, None, f"not UTF-8 text (byte {exc.start + 1})")


def _csv_rows(
    upload: Iterable[bytes], status: Status, max_chars: int
) -> Iterator[tuple[int, JsonObject | None, RowError | None]]:
    """A CSV file's records as rows: the first record names the columns; an empty
    cell is left out of its row (as a key missing from a JSONL line). A record is
    numbered by the line it starts on."""
    undecodable: list[RowError] = []

    def text() -> Iterator[str]:
        for _, line, error in _lines(upload):
            if error is not None:
                undecodable.append(error)
            yield line or "\n"

    reader = csv.reader(text(), strict=True)
    header: list[str] | None = None
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, None, RowError(line, None, f"not valid CSV: {exc}")
            return
        start, line = line, reader.line_num + 1
        if undecodable:
            yield start, None, undecodable.pop()
        elif not any(cell.strip() for cell in cells):
            continue
        elif header is None:
            header = [cell.strip() for cell in cells]
            yield from ((start, None, e) for e in _header_errors(header, start))
            status.columns = header[:MAX_COLUMNS]
        else:
            yield start, *_csv_row(header, cells, start, max_chars)


def _csv_row(
    header: list[str], cells: list[str], line: int, max_chars: int
) -> tuple[JsonObject | None, RowError | None]:
    if len(cells) != len(header):
        at = min(len(cells), len(header)) + 1
        message = f"{len(cells)} cells, but the header names {len(header)} columns"
        return None, RowError(line, f"column {at}", message)
    row: JsonObject = {}
    for name, cell in zip(header, cells, strict=True):
        if len(cell) > max_chars:
            return None, RowError(line, name, f"longer than {max_chars:,} characters")
        if cell != "":
            row[name] = cell
    return row, None


def _header_errors(header: list[str], line: int) -> Iterator[RowError]:
    if len(header) > MAX_COLUMNS:
        yield RowError(line, None, f"more than {MAX_COLUMNS} columns")
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if not name:
            yield RowError(line, f"column {i}", "the header names no column here")
        elif name in seen:
            yield RowError(line, f"column {i}", f"the header names {name!r} twice")
        seen.add(name)


def _jsonl_rows(
    upload: Iterable[bytes], status: Status, max_chars: int
) -> Iterator[tuple[int, JsonObject | None, RowError | None]]:
    """A JSONL file's lines, each a JSON object (blank lines are skipped); the columns
    are every key, in the order first seen."""
    columns: dict[str, None] = dict.fromkeys(status.columns)
    for number, text, error in _lines(upload):
        if error is not None or text is None:
            yield number, None, error
            continue
        if not text.strip():
            continue
        try:
            row = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            where = f"character {exc.colno}"
            yield number, None, RowError(number, where, f"not valid JSON: {exc.msg}")
            continue
        if not isinstance(row, dict):
            yield number, None, RowError(number, None, "each line must be a JSON object")
            continue
        for key in row:
            if key not in columns and len(columns) < MAX_COLUMNS:
                columns[key] = None
        status.columns = list(columns)
        yield number, row, None
