"""The ClickHouse schema as data: tables, their DDL (one node or a cluster), migrations
and the row encoding of events.

Every table is a `ReplacingMergeTree(version, is_deleted)`: a write inserts a new
version of a row, a delete inserts a tombstone version, and reads use `FINAL` to see
the newest version of each key. Background merges only drop superseded versions, so
what a read returns never depends on whether they ran.

`single_node_ddl()` is what the store runs; `cluster_ddl()` renders the same tables
as `ReplicatedReplacingMergeTree` shards behind `Distributed` tables. Events shard by
a hash of `(project_id, session id)`, so a session's rows, and every version of each,
live on one shard: `FINAL` and the session subqueries stay shard-local.

ClickHouse has no transactions, so a migration cannot commit with its record. Every
statement is idempotent instead (`IF NOT EXISTS`); a migration interrupted halfway
is simply run again at the next start, then recorded. A migration creates tables or
adds columns (`AddColumn`); `cluster_ddl()` renders both, so running its output
again after an upgrade brings a cluster's tables up to date.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hivekeeper.domain.types import StoredRow
from hivekeeper.store.sql import rows as sql_rows
from hivekeeper.store.sql.identifiers import quote_identifier
from hivekeeper.store.sql.rows import JSON_COLUMNS, WRITE_COLUMNS

VERSION_COLUMNS = (("version", "UInt64"), ("is_deleted", "UInt8"))
_ROLLUP_TYPES = {
    "num_events": "Int64",
    "num_model_events": "Int64",
    "prompt_tokens": "Float64",
    "completion_tokens": "Float64",
    "total_tokens": "Float64",
    "cost": "Float64",
    "feedback_count": "Int64",
    "error_count": "Int64",
}
_EVENT_TYPES: dict[str, str] = {
    "project_id": "String",
    "event_id": "String",
    "session_id": "Nullable(String)",
    "parent_id": "Nullable(String)",
    "event_type": "LowCardinality(Nullable(String))",
    "event_name": "Nullable(String)",
    "source": "Nullable(String)",
    "start_time": "Nullable(Float64)",
    "end_time": "Nullable(Float64)",
    "duration": "Nullable(Float64)",
    "duration_set": "Bool",
    "error": "Nullable(String)",
    **{c: "String" for c in JSON_COLUMNS},
    "pending_since": "Nullable(Float64)",
    **_ROLLUP_TYPES,
    "run_id": "Nullable(String)",
}


@dataclass(frozen=True, slots=True)
class Table:
    """One table: columns (without the version columns), sorting key, skip indexes,
    and the expression that picks its shard in a cluster."""

    name: str
    columns: tuple[tuple[str, str], ...]
    order_by: tuple[str, ...]
    shard_by: str
    indexes: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[tuple[str, str], ...]:
        return (*self.columns, *VERSION_COLUMNS)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.all_columns)

    @property
    def column_types(self) -> tuple[str, ...]:
        return tuple(kind for _, kind in self.all_columns)


# The sessions of a run are found by the events naming it (`sql.rows.run_id_of`).
_BY_RUN = "INDEX by_run run_id TYPE bloom_filter(0.01) GRANULARITY 1"
# Sorting key (project_id, event_id): every version of a row collapses, and loading
# rows by key (the write path) reads a few granules. The tree (`session_id = ?`) and
# parents use bloom filters; the session list (`event_type = 'session'` by start time)
# reads only the small key/type/time columns of a project's range first, then the
# page's payloads by key (see `_reads`). A projection ordered by start time
# would serve the list better, but `FINAL` reads ignore projections, and a projection
# on a ReplacingMergeTree must be rebuilt on every merge.
EVENTS = Table(
    name="events",
    columns=tuple((c, _EVENT_TYPES[c]) for c in WRITE_COLUMNS),
    order_by=("project_id", "event_id"),
    shard_by="cityHash64(project_id, ifNull(session_id, event_id))",
    indexes=(
        "INDEX by_session session_id TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX by_parent parent_id TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX by_start start_time TYPE minmax GRANULARITY 1",
        _BY_RUN,
    ),
)
ORGANIZATIONS = Table(
    "organizations",
    (("id", "String"), ("name", "String"), ("created_at", "Float64")),
    ("id",),
    "cityHash64(id)",
)
WORKSPACES = Table(
    "workspaces",
    (("id", "String"), ("org_id", "String"), ("name", "String"), ("created_at", "Float64")),
    ("id",),
    "cityHash64(id)",
)
PROJECTS = Table(
    "projects",
    (
        ("id", "String"),
        ("workspace_id", "String"),
        ("name", "String"),
        ("created_at", "Float64"),
        ("retention_days", "Nullable(Int64)"),
    ),
    ("id",),
    "cityHash64(id)",
)
API_KEYS = Table(
    "api_keys",
    (
        ("id", "String"),
        ("project_id", "String"),
        ("kind", "String"),
        ("secret_hash", "String"),
        ("created_at", "Float64"),
        ("revoked_at", "Nullable(Float64)"),
    ),
    ("id",),
    "cityHash64(id)",
)
REDACTION_RULES = Table(
    "redaction_rules",
    (
        ("id", "Int64"),
        ("project_id", "String"),
        ("pattern", "String"),
        ("replacement", "String"),
        ("created_at", "Float64"),
    ),
    ("id",),
    "cityHash64(id)",
)
MODEL_PRICES = Table(
    "model_prices",
    (
        ("id", "Int64"),
        ("project_id", "String"),
        ("provider", "String"),
        ("model", "String"),
        ("effective_from", "Nullable(String)"),
        ("rates", "String"),
        ("created_at", "Float64"),
    ),
    ("id",),
    "cityHash64(id)",
)
MIGRATIONS_TABLE = Table(
    "hivekeeper_migrations",
    (("name", "String"), ("applied_at", "Float64")),
    ("name",),
    "cityHash64(name)",
)
TENANCY_TABLES = (ORGANIZATIONS, WORKSPACES, PROJECTS, API_KEYS, REDACTION_RULES)


# The evaluation plane: insert-only. Every change is a row of its own, ordered by
# (at_ms, change_id), and nothing is read back to be rewritten: datasets, prompts,
# metrics, runs and saved charts are patch rows folded at read (`_evaluation.fold`);
# revisions, dataset changes and their items, versions, deployments and a run's ids
# are appended. Versions are ranks in key order, so no counter is read either.
_KEY_TIME = (("at_ms", "Float64"), ("change_id", "String"))
EVAL_PATCHES = Table(
    "eval_patches",
    (
        ("project_id", "String"),
        ("entity", "LowCardinality(String)"),
        ("entity_id", "String"),
        *_KEY_TIME,
        ("kind", "LowCardinality(String)"),
        ("patch", "String"),
    ),
    ("project_id", "entity", "entity_id", "at_ms", "change_id"),
    "cityHash64(project_id, entity_id)",
)
DATAPOINT_REVISIONS = Table(
    "datapoint_revisions",
    (
        ("project_id", "String"),
        ("datapoint_id", "String"),
        *_KEY_TIME,
        ("key_id", "Nullable(String)"),
        ("inputs", "String"),
        ("history", "String"),
        ("ground_truth", "String"),
        ("metadata", "String"),
        ("linked_event", "Nullable(String)"),
        ("extra", "String"),
        ("deleted", "Bool"),
    ),
    ("project_id", "datapoint_id", "at_ms", "change_id"),
    "cityHash64(project_id, datapoint_id)",
)
DATASET_CHANGES = Table(
    "dataset_changes",
    (
        ("project_id", "String"),
        ("dataset_id", "String"),
        *_KEY_TIME,
        ("key_id", "Nullable(String)"),
        ("added", "Int64"),
        ("removed", "Int64"),
        ("edited", "Int64"),
    ),
    ("project_id", "dataset_id", "at_ms", "change_id"),
    "cityHash64(project_id, dataset_id)",
)
DATASET_ITEMS = Table(
    "dataset_items",
    (
        ("project_id", "String"),
        ("dataset_id", "String"),
        *_KEY_TIME,
        ("ordinal", "Int64"),
        ("datapoint_id", "String"),
        ("kind", "LowCardinality(String)"),
        ("revision", "Nullable(String)"),
    ),
    ("project_id", "dataset_id", "at_ms", "change_id", "ordinal"),
    "cityHash64(project_id, dataset_id)",
    indexes=("INDEX by_datapoint datapoint_id TYPE bloom_filter(0.01) GRANULARITY 1",),
)
DEFINITION_VERSIONS = Table(
    "definition_versions",
    (
        ("project_id", "String"),
        ("kind", "LowCardinality(String)"),
        ("definition_id", "String"),
        *_KEY_TIME,
        ("key_id", "Nullable(String)"),
        ("message", "Nullable(String)"),
        ("content", "String"),
    ),
    ("project_id", "kind", "definition_id", "at_ms", "change_id"),
    "cityHash64(project_id, definition_id)",
)
DEPLOYMENTS = Table(
    "deployments",
    (
        ("project_id", "String"),
        ("kind", "LowCardinality(String)"),
        ("definition_id", "String"),
        *_KEY_TIME,
        ("env", "String"),
        ("version_change_id", "String"),
    ),
    ("project_id", "kind", "definition_id", "at_ms", "change_id"),
    "cityHash64(project_id, definition_id)",
)
RUN_IDS = Table(
    "run_ids",
    (
        ("project_id", "String"),
        ("run_id", "String"),
        ("list", "LowCardinality(String)"),
        *_KEY_TIME,
        ("ordinal", "Int64"),
        ("value", "String"),
    ),
    ("project_id", "run_id", "list", "at_ms", "change_id", "ordinal"),
    "cityHash64(project_id, run_id)",
    indexes=("INDEX by_value value TYPE bloom_filter(0.01) GRANULARITY 1",),
)
EVALUATION_TABLES = (
    EVAL_PATCHES,
    DATAPOINT_REVISIONS,
    DATASET_CHANGES,
    DATASET_ITEMS,
    DEFINITION_VERSIONS,
    DEPLOYMENTS,
    RUN_IDS,
)


@dataclass(frozen=True, slots=True)
class AddColumn:
    """A column of `table` (as its definition now has it) added to an existing table.

    `backfill` is the SQL value rows written before the migration read, with `{now_ms}`
    standing for the time the migration runs: ClickHouse computes it for old parts on
    read and writes it at their next merge, so no mutation rewrites them."""

    table: Table
    name: str
    backfill: str

    def ddl(self, table_name: str, now_ms: float, on_cluster: str = "") -> str:
        kind = dict(self.table.columns)[self.name]
        default = self.backfill.format(now_ms=repr(float(now_ms)))
        return (
            f"ALTER TABLE {table_name}{on_cluster} ADD COLUMN IF NOT EXISTS "
            f"{quote_identifier(self.name, '`')} {kind} DEFAULT {default}"
        )


@dataclass(frozen=True, slots=True)
class AddIndex:
    """A skip index of `table` (as its definition now has it) added to an existing
    table; parts written before are indexed as merges rewrite them."""

    table: Table
    index: str

    def ddl(self, table_name: str, on_cluster: str = "") -> str:
        definition = self.index.removeprefix("INDEX ")
        return f"ALTER TABLE {table_name}{on_cluster} ADD INDEX IF NOT EXISTS {definition}"


Step = Table | AddColumn | AddIndex
MIGRATIONS: tuple[tuple[str, tuple[Step, ...]], ...] = (
    ("0001_tenancy", TENANCY_TABLES),
    ("0002_events", (EVENTS,)),
    # Pending rows stored before count as first written now: they expire one
    # `pending_expiry_hours` after the upgrade.
    (
        "0003_pending_since",
        (AddColumn(EVENTS, "pending_since", "if(event_type IS NULL, {now_ms}, NULL)"),),
    ),
    # Rows stored before read their run from their metadata until a merge writes it.
    (
        "0004_event_run_id",
        (
            AddColumn(
                EVENTS,
                "run_id",
                "if(JSONType(metadata, 'run_id') = 'String', "
                "JSONExtractString(metadata, 'run_id'), NULL)",
            ),
            AddIndex(EVENTS, _BY_RUN),
        ),
    ),
    ("0005_evaluation", EVALUATION_TABLES),
    ("0006_model_prices", (MODEL_PRICES,)),
)


def _string_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _columns_sql(table: Table) -> str:
    parts = [f"{quote_identifier(name, '`')} {kind}" for name, kind in table.all_columns]
    return ",\n    ".join([*parts, *table.indexes])


def _table_ddl(table: Table, name: str, engine: str, on_cluster: str) -> str:
    order = ", ".join(quote_identifier(c, "`") for c in table.order_by)
    return (
        f"CREATE TABLE IF NOT EXISTS {name}{on_cluster} (\n    {_columns_sql(table)}\n)\n"
        f"ENGINE = {engine}\nORDER BY ({order})"
    )


def single_node_ddl(step: Step, now_ms: float = 0.0) -> str:
    """The statement the store runs on one node (in the client's database) for a
    migration step; `now_ms` is the time it runs (for `AddColumn` backfills)."""
    if isinstance(step, AddColumn):
        return step.ddl(quote_identifier(step.table.name, "`"), now_ms)
    if isinstance(step, AddIndex):
        return step.ddl(quote_identifier(step.table.name, "`"))
    return _table_ddl(
        step, quote_identifier(step.name, "`"), "ReplacingMergeTree(version, is_deleted)", ""
    )


def cluster_ddl(cluster: str, database: str, now_ms: float | None = None) -> list[str]:
    """Statements creating every table on `cluster`: a replicated local table per shard
    and a `Distributed` table over them under the name the store uses, then the
    columns later migrations added (already there on a new cluster), then the
    migration records, so a store pointed at the cluster runs no DDL itself. `now_ms`
    (default: now) is what rows stored before an added column read in it."""
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    on = f" ON CLUSTER {quote_identifier(cluster, '`')}"
    db = quote_identifier(database, "`")
    out = [f"CREATE DATABASE IF NOT EXISTS {db}{on}"]
    steps = [step for _, group in MIGRATIONS for step in group]
    for table in (MIGRATIONS_TABLE, *(s for s in steps if isinstance(s, Table))):
        local = f"{table.name}_local"
        path = _string_literal(f"/clickhouse/tables/{{shard}}/{database}/{local}")
        engine = f"ReplicatedReplacingMergeTree({path}, '{{replica}}', version, is_deleted)"
        out.append(_table_ddl(table, f"{db}.{quote_identifier(local, '`')}", engine, on))
        distributed = (
            f"Distributed({quote_identifier(cluster, '`')}, {db}, {quote_identifier(local, '`')}, "
            f"{table.shard_by})"
        )
        out.append(
            f"CREATE TABLE IF NOT EXISTS {db}.{quote_identifier(table.name, '`')}{on} "
            f"AS {db}.{quote_identifier(local, '`')}\nENGINE = {distributed}"
        )
    for column in (s for s in steps if isinstance(s, AddColumn)):
        for name in (f"{column.table.name}_local", column.table.name):
            out.append(column.ddl(f"{db}.{quote_identifier(name, '`')}", now_ms, on))
    for index in (s for s in steps if isinstance(s, AddIndex)):
        local = quote_identifier(f"{index.table.name}_local", "`")
        out.append(index.ddl(f"{db}.{local}", on))
    names = ", ".join(f"('{name}', 0, 1, 0)" for name, _ in MIGRATIONS)
    out.append(
        f"INSERT INTO {db}.{quote_identifier(MIGRATIONS_TABLE.name, '`')} "
        f"(name, applied_at, version, is_deleted) VALUES {names}"
    )
    return out


_JSON_POSITIONS = frozenset(WRITE_COLUMNS.index(c) for c in JSON_COLUMNS)
_SESSION_POSITION = WRITE_COLUMNS.index("session_id")


def encode_row(row: StoredRow, version: int) -> list[Any]:
    """The row as insert values in `EVENTS.column_names` order: `sql.rows`' encoding
    and the version. Raises ValidationFailed as `sql_rows.encode_row`."""
    values = sql_rows.encode_row(row)
    values.append(version)
    values.append(0)
    return values


def tombstone(project_id: str, event_id: str, session_id: str | None, version: int) -> list[Any]:
    """A deletion marker for a row; `session_id` routes it to the row's shard."""
    values: list[Any] = []
    for i, column in enumerate(WRITE_COLUMNS):
        kind = _EVENT_TYPES[column]
        if i in _JSON_POSITIONS:
            values.append("[]" if column == "children_ids" else "{}")
        elif "Nullable" in kind:
            values.append(None)
        elif kind == "Bool":
            values.append(False)
        elif kind == "String":
            values.append("")
        else:
            values.append(0)
    values[0], values[1], values[_SESSION_POSITION] = project_id, event_id, session_id
    values.append(version)
    values.append(1)
    return values


def decode_row(values: Sequence[Any]) -> StoredRow:
    """A `SELECT <EVENT_COLUMNS>` result row back into a row."""
    return sql_rows.decode_row(tuple(values))


SELECT_EVENTS = f"{sql_rows.SELECT_EVENTS} FINAL"
# Pending rows (an update whose event has not arrived) have no type and stay unseen.
VISIBLE = "event_type IS NOT NULL"
