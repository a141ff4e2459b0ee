"""Events rows as SQL parameters and back, shared by the SQL engines.

Every engine stores the same columns (`EVENT_COLUMNS`); the JSON namespaces travel as
compact JSON text (orjson), which SQLite keeps as TEXT and PostgreSQL parses into JSONB.
"""

from __future__ import annotations

import operator
from typing import Any, cast

import orjson

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import OBJECT_FIELDS
from hivekeeper.domain.types import ROLLUP_FIELDS, StoredRow

JSON_COLUMNS = (*OBJECT_FIELDS, "children_ids", "extra")
# Event fields first, then the session roll-ups, as in the table definition.
EVENT_COLUMNS = (
    *(c for c in StoredRow.__annotations__ if c not in ROLLUP_FIELDS),
    *ROLLUP_FIELDS,
)
_JSON_INDEXES = tuple(EVENT_COLUMNS.index(c) for c in JSON_COLUMNS)
_JSON_POSITIONS = frozenset(_JSON_INDEXES)
_EMPTY_JSON = {i: "[]" if EVENT_COLUMNS[i] == "children_ids" else "{}" for i in _JSON_INDEXES}
_all_columns = operator.itemgetter(*EVENT_COLUMNS)
_dumps = orjson.dumps
_BOOL_POSITION = EVENT_COLUMNS.index("duration_set")


def encode_row(row: StoredRow) -> list[Any]:
    """The row as bound parameters in `EVENT_COLUMNS` order.

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
    return values


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
