"""The Store protocols: what every engine (SQLite, PostgreSQL, ClickHouse) provides, one
capability a protocol.

Methods are synchronous; the writer calls `write_batch` on its own thread and the API
runs reads in a thread pool. Evaluation writes are write operations like event writes
(`domain.evaluation.ops`, applied by `write_batch`); `EvaluationStore` is their reads.
A store translates its driver's errors into `hivekeeper.domain.errors` at this
boundary. `Store` is every capability together: what `open_store` returns, checked
against each engine by mypy (`StoreFactory`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hivekeeper.domain.charts import ChartPoint, ChartQuery
from hivekeeper.domain.evaluation.changelog import ChangeSummary, Member, VersionKey
from hivekeeper.domain.evaluation.datapoints import DatapointRecord
from hivekeeper.domain.evaluation.datasets import DatasetRecord
from hivekeeper.domain.evaluation.ops import DefinitionKind
from hivekeeper.domain.evaluation.runs import Run, RunListQuery, RunPage
from hivekeeper.domain.evaluation.traces import RunRow
from hivekeeper.domain.evaluation.versions import Definition
from hivekeeper.domain.filters import Condition, EventQuery
from hivekeeper.domain.merge import DEFAULT_MAX_CHILDREN_IDS
from hivekeeper.domain.pricing.billing import PriceBook, shipped_prices
from hivekeeper.domain.pricing.project import PriceSpec, ProjectPrice
from hivekeeper.domain.redaction import RedactionRule
from hivekeeper.domain.saved_charts import SavedChart
from hivekeeper.domain.tenancy import ApiKey, KeyKind, Principal, Project, TenancyDump
from hivekeeper.domain.types import Key, OutlineRow, StoredRow, WriteNote, WriteOp
from hivekeeper.store.evaluation_tables import EvaluationRow
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
        prices: PriceBook = shipped_prices,
    ) -> list[WriteNote]:
        """Apply the operations in one transaction: all or nothing. Idempotent.

        Merges follow `domain.merge.apply_ops`, model events priced from `prices` (its
        errors leave nothing written).
        Returns what the caller must know beyond success: the `keep_stored` upserts
        skipped for naming another type (`Skipped`) and what each `ExpirePending`
        removed (`Expired`)."""

    def get_event(
        self, project_id: str, event_id: str, *, include_pending: bool = False
    ) -> StoredRow | None:
        """A visible event, or with `include_pending` a pending row too (what
        `DeleteEvent` can remove)."""

    def get_events(self, project_id: str, event_ids: Sequence[str]) -> list[StoredRow]:
        """The visible events among these ids, in no order (unknown ids left out): a
        fixed number of queries whatever the number of ids."""

    def session_events(self, project_id: str, session_id: str) -> list[StoredRow]:
        """Every visible event of a session, the session row included, by start time."""

    def children_of(self, project_id: str, event_ids: Sequence[str]) -> dict[str, list[str]]:
        """Child event ids per parent id, for `children_ids`."""

    def session_outline(self, project_id: str, session_id: str) -> list[OutlineRow]:
        """Every visible event of a session, the session row included, by start time
        then event id, without payloads: what a tree and a timeline draw."""

    def search_session(self, project_id: str, session_id: str, text: str) -> list[str]:
        """The ids of the session's visible events (its own row included) whose name,
        inputs, outputs or metadata contain `text` (case-insensitively, ASCII case
        folding; JSON text for the namespaces), by start time then event id. One query."""

    def query_events(
        self, project_id: str, query: EventQuery
    ) -> tuple[list[StoredRow], int | None]:
        """One page of events matching the query, and the total that match (None when
        `query.count_total` is False)."""

    def chart(self, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
        """Time buckets x group of the chart's metric (see `sqlite._reads.chart`)."""


class EvaluationStore(Protocol):
    """The evaluation plane's reads: datasets and their versions, datapoints, versioned
    configurations and metrics, runs and the events of their sessions, saved charts.

    Writes are the ops of `domain.evaluation.ops`, submitted to the writer like event
    writes and applied by `EventStore.write_batch` in the batch's transaction (each
    op's docstring says what it does and raises). What a request just wrote is
    readable once `submit` returns.

    Every record belongs to a project: an id of another project reads as absent.
    Versions (dataset changes, datapoint revisions, configuration and metric versions,
    deployments) are ordered by their key `(at_ms, change_id)`; a version number is a
    rank in that order (`changelog.version_numbers`, `versions.ordered`). Times are
    epoch ms. Each method costs a fixed number of queries, whatever the sizes read.
    """

    def list_datasets(
        self, project_id: str, *, dataset_id: str | None = None, name: str | None = None
    ) -> list[DatasetRecord]:
        """The live datasets (every one, or the one `dataset_id`, or those named `name`:
        names are not unique), oldest first."""

    def dataset_histories(
        self, project_id: str, dataset_ids: Sequence[str]
    ) -> dict[str, list[ChangeSummary]]:
        """Each dataset's changes, oldest first: version n is the n-th (the current
        version number is the length; empty for a dataset never given a datapoint).
        Deleted datasets keep theirs. The version a run used is the one in force when
        it was created: `changelog.version_at([c.key for c in history],
        run.created_at_ms)`. Every id asked is a key of the answer."""

    def dataset_members(
        self, project_id: str, dataset_ids: Sequence[str]
    ) -> dict[str, list[Member]]:
        """Each live dataset's current members, in dataset order, with the revision
        each shows (what `GET /v1/datasets` lists as `datapoints`). Every id asked is a
        key of the answer (an empty list for a deleted or unknown dataset)."""

    def version_members(self, project_id: str, dataset_id: str, at: VersionKey) -> list[Member]:
        """The members of the dataset version made by the change `at` (a key of its
        history), in dataset order, with the revision each showed then. Works for a
        deleted dataset too, so a run still shows the version it used."""

    def get_datapoints(
        self, project_id: str, datapoint_ids: Sequence[str]
    ) -> list[DatapointRecord]:
        """The live datapoints among these ids, current content, in the order asked
        (unknown and deleted ids are left out; repeats once)."""

    def list_datapoints(
        self,
        project_id: str,
        *,
        dataset_id: str | None = None,
        at: VersionKey | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[DatapointRecord]:
        """A page of datapoints: without `dataset_id` every live datapoint of the project,
        oldest first; with it the members of the dataset's current version (or of the
        version `at`), in dataset order, each with the content that version shows (a
        datapoint deleted since still shows its old revision). `linked_datasets` are
        always the live datasets holding it now."""

    def list_definitions(
        self,
        project_id: str,
        kind: DefinitionKind,
        *,
        definition_id: str | None = None,
        names: Sequence[str] | None = None,
    ) -> list[Definition]:
        """Live configurations or metrics (all of `kind`, the one `definition_id`, or
        those whose latest version's `content.name` is in `names`), oldest first, each
        with every version and deployment, oldest first. What is deployed where:
        `versions.deployed(d.deployments)`; a metric's live version is the one deployed
        to `versions.DEPLOYED` (its thresholds decide pass/fail in results)."""

    def get_run(self, project_id: str, run_id: str) -> Run | None:
        """A run (its `event_ids` and `datapoint_ids` in the order reported), or None."""

    def list_runs(self, project_id: str, query: RunListQuery) -> RunPage:
        """The page of runs `query` selects (filters ANDed: `dataset_id`, an `EXT-` id
        matching offline runs' `metadata.offline_dataset_id`; `run_ids`; exact `name`;
        `status`; creation time in `[start_ms, end_ms]`), sorted by `sort_by` then run
        id; with the number matching and the number of runs in the project."""

    def run_rows(
        self,
        project_id: str,
        run_id: str,
        conditions: Sequence[Condition] = (),
        *,
        scores_only: bool = False,
    ) -> list[RunRow]:
        """Every visible event of the run's sessions, projected as `traces.RunRow`
        describes, in no order: what `traces.read_sessions` turns into a result. A
        run's sessions are those whose events carry `metadata.run_id` = `run_id`, and
        the ids its client reported (`event_ids`); events written since the last call
        count, a late one included. `conditions` (the export filter language) keep the
        sessions whose session row matches them all. With `scores_only`, `inputs`,
        `outputs` and `feedback` read as `{}`: what a comparison needs. One query,
        whatever the run's size; an unknown run has no rows."""

    def schema_rows(
        self,
        project_id: str,
        *,
        run_id: str | None = None,
        start_ms: float | None = None,
        end_ms: float | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, object]]:
        """What `schema.event_schema` reads: `event_type` and the namespaces of
        `schema.SCHEMA_NAMESPACES`, of the run's events (its sessions, as `run_rows`),
        else of the project's latest `limit` visible events starting in the range."""

    def list_charts(self, project_id: str) -> list[SavedChart]:
        """Every saved chart, oldest first."""

    def get_chart(self, project_id: str, chart_id: str) -> SavedChart | None: ...


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


class PriceStore(Protocol):
    """Projects' own model prices (admin, like redaction rules; the server reads them)."""

    def add_price(self, project_id: str, spec: PriceSpec) -> ProjectPrice:
        """Store a price of `project_id` (an existing project's id)."""

    def list_prices(self, project_id: str | None = None) -> list[ProjectPrice]:
        """The prices of `project_id` (None: of every project), oldest first."""

    def remove_price(self, price_id: int, project_id: str | None = None) -> ProjectPrice:
        """Remove a price (of `project_id` only, when given). NotFound otherwise."""


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

    def export_evaluation(
        self, project_id: str, batch_size: int
    ) -> Iterator[tuple[str, list[EvaluationRow]]]:
        """The project's evaluation plane in the row stores' shape
        (`evaluation_tables`): table by table in `EVALUATION_TABLES` order, each in
        primary key order, at most `batch_size` rows a batch, as `(table, rows)`. Live
        records, deleted datasets (their history stays), and what each read needs:
        every version, revision, change and item with its `(at_ms, change_id)` key."""

    def import_evaluation(self, table: str, rows: Sequence[EvaluationRow]) -> None:
        """Store rows of `export_evaluation` (from any engine) so that every evaluation
        read answers as on the source, replacing what has the same key, in one
        transaction. Idempotent. A table's rows come after those of the tables before
        it in `EVALUATION_TABLES` (a run's ids after the run)."""


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
    Lifecycle,
    EventStore,
    EvaluationStore,
    TenancyStore,
    CareStore,
    PriceStore,
    TransferStore,
    BackupStore,
    Protocol,
):
    """Every capability: what the server and the CLI hold. Instances are thread-safe."""


class StoreFactory(Protocol):
    """An engine's class, as `open_store` calls it."""

    def __call__(self, database_url: str, *, synchronous_full: bool = False) -> Store: ...
