"""Raw rows and stored events → datapoints, by a column mapping.

`POST /v1/datasets/{id}/datapoints` sends `{data: [row, …], mapping: {inputs: [cols],
history: [cols], ground_truth: [cols]}}`: mapped columns go to their namespace, every
other column to `metadata`, so nothing a row carries is lost. `POST
/v1/datapoints/batch` makes datapoints from stored events, where the mapping names
event fields (`inputs.question`, `outputs`, `feedback.ground_truth`).

A whole request is validated before anything is written: a malformed row, a column the
mapping names in two places, or one that no row has (a typo) is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.events import OBJECT_FIELDS, json_type, parse_id
from hivekeeper.domain.fields import Fields, as_object
from hivekeeper.domain.filters import EventQuery, parse_export_body
from hivekeeper.domain.types import JsonObject

_ROLES = ("inputs", "history", "ground_truth")
# What an event mapping entry may start with: a payload namespace or an event column.
_EVENT_FIELDS = frozenset(
    {*OBJECT_FIELDS, "event_id", "session_id", "event_name", "event_type", "source", "error"}
)


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which columns (or event field paths) feed each datapoint namespace."""

    inputs: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    ground_truth: tuple[str, ...] = ()

    def roles(self) -> dict[str, str]:
        """Column → the namespace it feeds."""
        return {column: role for role in _ROLES for column in getattr(self, role)}


@dataclass(frozen=True, slots=True)
class EventSelection:
    """The events a `POST /v1/datapoints/batch` turns into datapoints.

    `event_ids` are named outright; with `query` set (`selectAll`), every event it
    matches is taken too, except `excluded_ids`.
    """

    event_ids: tuple[str, ...]
    query: EventQuery | None
    excluded_ids: frozenset[str]
    mapping: ColumnMapping | None
    dataset_id: str | None


def parse_mapping(raw: object, where: str = "mapping") -> ColumnMapping:
    """`{inputs?, history?, ground_truth?}`, each an array of column names; a column in
    two of them is ambiguous and refused."""
    body = Fields(raw, where)
    lists = {role: tuple(dict.fromkeys(body.strings(role) or ())) for role in _ROLES}
    seen: dict[str, str] = {}
    for role, columns in lists.items():
        for i, column in enumerate(columns):
            if column in seen:
                path = f"{where}.{role}[{i}]"
                raise ValidationFailed(
                    f"{path}: column {column!r} is already mapped to {seen[column]}", field=path
                )
            seen[column] = role
    return ColumnMapping(**lists)


def parse_rows(body: object, *, max_rows: int) -> tuple[list[JsonObject], ColumnMapping]:
    """An add-datapoints body: its rows (1 to `max_rows` JSON objects) and mapping.

    Raises ValidationFailed naming `data`, `data[i]` or the mapping entry at fault,
    including a mapped column that no row has.
    """
    fields = Fields(body, "body")
    rows = fields.json_objects("data")
    if not rows:
        raise ValidationFailed("data must be a non-empty array of row objects", field="data")
    if len(rows) > max_rows:
        raise ValidationFailed(
            f"data holds {len(rows)} rows; at most {max_rows} per request", field="data"
        )
    raw_mapping = fields.raw("mapping")
    mapping = parse_mapping({} if raw_mapping is None else raw_mapping)
    present = {column for row in rows for column in row}
    for role in _ROLES:
        for i, column in enumerate(getattr(mapping, role)):
            if column not in present:
                path = f"mapping.{role}[{i}]"
                raise ValidationFailed(f"{path}: no row has a column {column!r}", field=path)
    return rows, mapping


def datapoints_from_rows(
    rows: Sequence[JsonObject], mapping: ColumnMapping
) -> list[DatapointContent]:
    """One datapoint per row: mapped columns into `inputs`, `history` and
    `ground_truth` (an object of its columns), every other column into `metadata`.

    A history column holds a message object or an array of them. A column missing from
    a row is left out of that row's datapoint. Raises ValidationFailed naming
    `data[i].column` for a history value of another shape.
    """
    roles = mapping.roles()
    out: list[DatapointContent] = []
    for i, row in enumerate(rows):
        parts: dict[str, JsonObject] = {"inputs": {}, "ground_truth": {}, "metadata": {}}
        history: list[JsonObject] = []
        for column, value in row.items():
            role = roles.get(column, "metadata")
            if role == "history":
                history.extend(_messages(value, f"data[{i}].{column}"))
            else:
                parts[role][column] = value
        out.append(
            DatapointContent(
                inputs=parts["inputs"],
                history=history,
                ground_truth=parts["ground_truth"] or None,
                metadata=parts["metadata"],
            )
        )
    return out


def parse_selection(body: object, *, now_ms: float) -> EventSelection:
    """A `POST /v1/datapoints/batch` body: `events` (ids), `checkState` ({id: bool}),
    `selectAll` with `filters` and `dateRange` (the export filter language), `mapping`
    (event field paths) and `dataset_id`.

    Raises ValidationFailed naming the field, also when the body selects no event.
    """
    fields = Fields(body, "body")
    checked = fields.json_object("checkState") or {}
    for event_id, state in checked.items():
        path = f"checkState.{event_id}"
        parse_id(event_id, path)
        if not isinstance(state, bool):
            raise ValidationFailed(f"{path} must be a boolean, got {json_type(state)}", field=path)
    ids = [*(fields.identifiers("events") or ()), *(k for k, v in checked.items() if v)]
    query = None
    if fields.boolean("selectAll"):
        query = parse_export_body(
            {"filters": fields.raw("filters"), "dateRange": fields.raw("dateRange")},
            now_ms=now_ms,
        )
    elif not ids:
        raise ValidationFailed(
            "select events: name them in events or checkState, or set selectAll with filters",
            field="events",
        )
    mapping = None
    if fields.has("mapping"):
        mapping = parse_mapping(fields.raw("mapping"))
        _check_event_paths(mapping)
    return EventSelection(
        event_ids=tuple(dict.fromkeys(ids)),
        query=query,
        excluded_ids=frozenset(k for k, v in checked.items() if not v),
        mapping=mapping,
        dataset_id=fields.identifier("dataset_id"),
    )


def datapoint_from_event(
    event: Mapping[str, object], mapping: ColumnMapping | None
) -> DatapointContent:
    """A datapoint made from a stored event, linked to it (`linked_event`).

    Without a mapping: the event's `inputs` (its `chat_history` as `history`), and as
    ground truth its `feedback.ground_truth` when it has one, else its `outputs`. With
    one, each entry is an event field path (`inputs.question`, `outputs`,
    `metadata.topic`) whose value lands under the path's last segment; paths that the
    event lacks are left out.
    """
    event_id = str(event.get("event_id"))
    if mapping is None:
        inputs = dict(as_object(event.get("inputs")))
        history = [m for m in _as_list(inputs.pop("chat_history", None)) if isinstance(m, dict)]
        feedback = as_object(event.get("feedback"))
        truth = feedback.get("ground_truth")
        return DatapointContent(
            inputs=inputs,
            history=history,
            ground_truth=truth if truth is not None else (as_object(event.get("outputs")) or None),
            linked_event=event_id,
        )
    found: dict[str, JsonObject] = {role: {} for role in _ROLES}
    for role in _ROLES:
        for path in getattr(mapping, role):
            value = _at(event, path)
            if value is not None:
                found[role][path.rsplit(".", 1)[-1]] = value
    history = [m for v in found["history"].values() for m in _as_list(v) if isinstance(m, dict)]
    return DatapointContent(
        inputs=found["inputs"],
        history=history,
        ground_truth=found["ground_truth"] or None,
        linked_event=event_id,
    )


def _check_event_paths(mapping: ColumnMapping, where: str = "mapping") -> None:
    """Refuse an event mapping entry that names no event field (`inputs.q`, `outputs`,
    `metadata.x`; top-level event columns such as `event_name` too)."""
    for role in _ROLES:
        for i, path in enumerate(getattr(mapping, role)):
            head = path.split(".", 1)[0]
            if not path or head not in _EVENT_FIELDS or ".." in path or path.endswith("."):
                at = f"{where}.{role}[{i}]"
                raise ValidationFailed(
                    f"{at}: {path!r} is not an event field; use e.g. inputs.question, "
                    "outputs or feedback.ground_truth",
                    field=at,
                )


def _messages(value: object, path: str) -> list[JsonObject]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        return value
    raise ValidationFailed(
        f"{path}: a history column holds a message object or an array of them, got "
        f"{json_type(value)}",
        field=path,
    )


def _at(event: Mapping[str, object], path: str) -> object:
    value: object = event
    for segment in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(segment)
    return value


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
