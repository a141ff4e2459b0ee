"""Events rows as SQL parameters and back, and their keys as `IN` lists, shared by the
SQL engines.

Every engine stores the same columns (`EVENT_COLUMNS`), and writes one more derived
from them (`WRITE_COLUMNS`): `run_id`, the event's `metadata.run_id` when it is a
string, indexed so a run's sessions are one index range and retention can spare them.
The JSON namespaces travel as compact JSON text (orjson), which SQLite keeps as TEXT
and PostgreSQL parses into JSONB.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

import orjson

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import OBJECT_FIELDS
from hivekeeper.domain.types import ROLLUP_FIELDS, Key, StoredRow

JSON_COLUMNS = (*OBJECT_FIELDS, "children_ids", "extra")
# Event fields first, then the session roll-ups, as in the table definition.
EVENT_COLUMNS = (
    *(c for c in StoredRow.__annotations__ if c not in ROLLUP_FIELDS),
    *ROLLUP_FIELDS,
)
WRITE_COLUMNS = (*EVENT_COLUMNS, "run_id")
"""What `encode_row` gives values for: the stored row's columns and the derived `run_id`."""
SELECT_EVENTS = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events"
"""Every column of the events table, in `EVENT_COLUMNS` order (what `decode_row` reads)."""
_JSON_INDEXES = tuple(EVENT_COLUMNS.index(c) for c in JSON_COLUMNS)
_JSON_POSITIONS = frozenset(_JSON_INDEXES)
_EMPTY_JSON = {i: "[]" if EVENT_COLUMNS[i] == "children_ids" else "{}" for i in _JSON_INDEXES}
_all_columns = operator.itemgetter(*EVENT_COLUMNS)
_dumps = orjson.dumps
_BOOL_POSITION = EVENT_COLUMNS.index("duration_set")
_KEY_COLUMNS = ("project_id", "event_id")
_T = TypeVar("_T")


def encode_row(row: StoredRow) -> list[Any]:
    """The row as bound parameters in `WRITE_COLUMNS` order.

    Raises ValidationFailed for a value nested too deeply for orjson (254 levels).
    """
    # On the ingest path for every event: fetch all values in C, then encode only
    # the JSON columns, writing empty containers as constants.
    values = list(_all_columns(row))
    try:
        for i in _JSON_INDEXES:
            value = values[i]
            values[i] = _dumps(value).decode() if value else _EMPTY_JSON[i]
    except orjson.JSONEncodeError as exc:
        raise ValidationFailed(
            f"event {row['event_id']} cannot be stored: {exc}", field="body"
        ) from None
    values.append(run_id_of(row))
    return values


def run_id_of(row: StoredRow) -> str | None:
    """The run an event belongs to: its `metadata.run_id`, when that is a string."""
    run_id = row["metadata"].get("run_id")
    return run_id if isinstance(run_id, str) else None


def decode_row(values: tuple[Any, ...]) -> StoredRow:
    """A `SELECT <EVENT_COLUMNS>` result tuple (JSON columns as text) back into a row."""
    out: dict[str, Any] = {}
    for i, column in enumerate(EVENT_COLUMNS):
        value = values[i]
        if i in _JSON_POSITIONS:
            value = orjson.loads(value)
        elif i == _BOOL_POSITION:
            value = bool(value)
        out[column] = value
    return cast(StoredRow, out)


def insert_sql(mark: str, *, replace: bool) -> str:
    """The INSERT of one events row (`encode_row`'s values), its placeholders written
    `mark`: a row stored under the same key is replaced whole (`replace`), or else left
    as it is (the statement then changes nothing)."""
    columns = ", ".join(WRITE_COLUMNS)
    marks = ", ".join(mark for _ in WRITE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in WRITE_COLUMNS if c not in _KEY_COLUMNS)
    action = f"DO UPDATE SET {updates}" if replace else "DO NOTHING"
    return (
        f"INSERT INTO events ({columns}) VALUES ({marks}) "
        f"ON CONFLICT (project_id, event_id) {action}"
    )


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def by_project(
    keys: Iterable[Key], chunk_size: int | None = None
) -> Iterator[tuple[str, Sequence[str]]]:
    """The event ids of `keys` grouped by project, at most `chunk_size` ids a group (all
    of a project's when None): what one `WHERE project_id = ? AND event_id IN (...)`
    binds."""
    grouped: dict[str, list[str]] = {}
    for project_id, event_id in keys:
        grouped.setdefault(project_id, []).append(event_id)
    for project_id, event_ids in grouped.items():
        if chunk_size is None:
            yield project_id, event_ids
        else:
            for chunk in chunks(event_ids, chunk_size):
                yield project_id, chunk
