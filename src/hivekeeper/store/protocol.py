"""The Store protocols: what every engine (SQLite, PostgreSQL, ClickHouse) provides, one
capability a protocol.

Methods are synchronous; the writer calls `write_batch` on its own thread and the API
runs reads in a thread pool. A store translates its driver's errors into
`hivekeeper.domain.errors` at this boundary. `Store` is every capability together:
what `open_store` returns, checked against each engine by mypy (`StoreFactory`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hivekeeper.domain.charts import ChartPoint, ChartQuery
from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.merge import DEFAULT_MAX_CHILDREN_IDS
from hivekeeper.domain.redaction import RedactionRule
from hivekeeper.domain.tenancy import ApiKey, KeyKind, Principal, Project, TenancyDump
from hivekeeper.domain.types import Key, OutlineRow, StoredRow, WriteNote, WriteOp
from hivekeeper.store.lifecycle import StoreState


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """What the first start created: the default project and, once, its first key."""

    project: Project
    new_key_secret: str | None


class Lifecycle(Protocol):
    """A store is built, opened once and closed once (`lifecycle.StoreState`); a closed
    store refuses every use with Unavailable."""

    @property
    def state(self) -> StoreState: ...

    def open(self) -> None:
        """Create the database if needed and run pending migrations. Idempotent;
        Unavailable once closed."""

    def close(self) -> None:
        """Release every connection. Idempotent."""


class EventStore(Protocol):
    """Events: the writer's batches, and every read of them."""

    def write_batch(
        self,
        ops: Sequence[WriteOp],
        now_ms: float,
        *,
        max_children_ids: int = DEFAULT_MAX_CHILDREN_IDS,
    ) -> list[WriteNote]:
        """Apply the operations in one transaction: all or nothing. Idempotent.

        Merges follow `domain.merge.apply_ops` (its errors leave nothing written).
        Returns what the caller must know beyond success: the `keep_stored` upserts
        skipped for naming another type (`Skipped`) and what each `ExpirePending`
        removed (`Expired`)."""

    def get_event(
        self, project_id: str, event_id: str, *, include_pending: bool = False
    ) -> StoredRow | None:
        """A visible event, or with `include_pending` a pending row too (what
        `DeleteEvent` can remove)."""

    def session_events(self, project_id: str, session_id: str) -> list[StoredRow]:
        """Every visible event of a session, the session row included, by start time."""

    def children_of(self, project_id: str, event_ids: Sequence[str]) -> dict[str, list[str]]:
        """Child event ids per parent id, for `children_ids`."""

    def session_outline(self, project_id: str, session_id: str) -> list[OutlineRow]:
        """Every visible event of a session, the session row included, by start time
        then event id, without payloads: what a tree and a timeline draw."""

    def query_events(
        self, project_id: str, query: EventQuery
    ) -> tuple[list[StoredRow], int | None]:
        """One page of events matching the query, and the total that match (None when
        `query.count_total` is False)."""

    def chart(self, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
        """Time buckets x group of the chart's metric (see `sqlite._reads.chart`)."""


class TenancyStore(Protocol):
    """Organizations, projects and API keys (admin; also the CLI, on a live database)."""

    def bootstrap(self) -> Bootstrap:
        """Ensure the default organization/workspace/project; mint a key if none exist."""

    def create_project(self, name: str) -> Project:
        """Raises ValidationFailed if the name is taken or empty."""

    def list_projects(self) -> list[Project]: ...

    def create_key(self, project_name: str, kind: KeyKind) -> tuple[ApiKey, str]:
        """Return the key record and its secret (shown once). NotFound for no project."""

    def list_keys(self) -> list[ApiKey]: ...

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent). NotFound for an unknown id."""

    def authenticate(self, secret: str) -> Principal | None:
        """The principal of a valid, unrevoked key, else None."""


class CareStore(Protocol):
    """Data care: retention settings and what they expire, redaction rules (admin, like
    tenancy; the server reads retention and rules)."""

    def set_retention(self, project_name: str, days: int | None) -> None:
        """Keep a project's sessions `days` days after their last activity (0: forever;
        None: the server default). NotFound for no project."""

    def retention_days(self) -> dict[str, int | None]:
        """Every project id with its own retention setting (None: the server default)."""

    def has_expired(self, project_id: str, before_ms: float) -> bool:
        """Whether `ExpireSessions(project_id, before_ms)` would delete anything."""

    def expired_pending_projects(self, before_ms: float) -> list[str]:
        """The projects that may hold pending rows first written before `before_ms`
        (what `ExpirePending` deletes): exact, or a superset where exactness costs a
        scan of every version."""

    def add_redaction(self, project_name: str, pattern: str, replacement: str) -> RedactionRule:
        """Add a rule to a project. ValidationFailed for a bad pattern, NotFound for no project."""

    def list_redactions(self) -> list[RedactionRule]:
        """Every rule, grouped by project, each project's in the order they apply."""

    def remove_redaction(self, rule_id: int) -> RedactionRule:
        """Remove a rule and return it. NotFound for an unknown id."""


class TransferStore(Protocol):
    """Copy between stores of any engines (`hivekeeper copy`, `store.transfer`)."""

    def export_tenancy(self) -> TenancyDump:
        """Every organization, workspace, project, key (as its hash) and redaction rule."""

    def import_tenancy(self, dump: TenancyDump) -> None:
        """Insert the records of `dump` this store lacks, keeping their ids, in one
        transaction; records already present (same id) are left as they are."""

    def scan_rows(self, after: Key | None, limit: int) -> list[StoredRow]:
        """Up to `limit` stored rows, pending ones included, in `(project_id, event_id)`
        order by code point (the same order in every engine), after the key `after`."""

    def put_rows(self, rows: Sequence[StoredRow]) -> None:
        """Store the rows exactly as given (no merge, no roll-up), replacing any row
        with the same key, in one transaction. Idempotent."""

    def last_key(self) -> Key | None:
        """The greatest `(project_id, event_id)` stored, in `scan_rows` order."""

    def count_rows(self) -> dict[str, int]:
        """Stored rows per project id, pending ones included."""


class BackupStore(Protocol):
    """Backup and restore of the database file: SQLite's. The server-based engines answer
    with the command of their own tool (ValidationFailed)."""

    def backup(self, target: Path) -> None:
        """Write a consistent copy of the live database to the new file `target`, while
        writes go on. NotFound for no database, ValidationFailed if `target` exists."""

    def restore(self, source: Path) -> Path | None:
        """On a store never opened: replace the database with the verified backup
        `source`; return where the old one was kept (None if there was none).
        ValidationFailed for a bad backup; Unavailable while a server uses the database."""


class Store(
    Lifecycle, EventStore, TenancyStore, CareStore, TransferStore, BackupStore, Protocol
):
    """Every capability: what the server and the CLI hold. Instances are thread-safe."""


class StoreFactory(Protocol):
    """An engine's class, as `open_store` calls it."""

    def __call__(self, database_url: str, *, synchronous_full: bool = False) -> Store: ...
