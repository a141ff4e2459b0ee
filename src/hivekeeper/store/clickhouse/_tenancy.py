"""ClickHouse side of tenancy and data care: organizations, projects, keys, retention
settings, redaction rules, and the tenancy dump `copy` moves.

The tables are small `ReplacingMergeTree`s keyed by id; a change inserts the row's
next version, a removal its tombstone. ClickHouse enforces no uniqueness, so checks
such as "project name taken" run here under the store's admin lock: safe within one
process, which is how the CLI and a server change tenancy. Joins happen in Python
(the tables hold a handful of rows), which keeps every query shard-agnostic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.redaction import RedactionRule, compile_pattern
from hivekeeper.domain.tenancy import (
    ApiKey,
    KeyKind,
    Project,
    TenancyDump,
    TenancyRow,
    generate_key,
    hash_key,
    new_tenant_id,
)
from hivekeeper.store.clickhouse._schema import (
    API_KEYS,
    MODEL_PRICES,
    ORGANIZATIONS,
    PROJECTS,
    REDACTION_RULES,
    TENANCY_TABLES,
    WORKSPACES,
    Table,
)


class Session(Protocol):
    """What these functions need of the store's connection."""

    def rows(
        self, query: str, params: dict[str, object] | None = None
    ) -> Sequence[Sequence[Any]]: ...

    def insert(self, table: Table, rows: Sequence[Sequence[Any]]) -> None: ...


Version = Callable[[], int]


def select_all(
    session: Session, table: Table, where: str = "", **params: object
) -> list[dict[str, Any]]:
    """Current rows of a tenancy table as dicts (version columns left out)."""
    names = [name for name, _ in table.columns]
    rows = session.rows(
        f"SELECT {', '.join(names)} FROM {table.name} FINAL {where} ORDER BY created_at, id",
        params,
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def insert_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], version: int
) -> None:
    """Insert each row as its next version (`version`)."""
    values = [[row.get(name) for name, _ in table.columns] + [version, 0] for row in rows]
    session.insert(table, values)


def ensure_workspace(session: Session, version: Version) -> tuple[str, str]:
    """The single workspace of a self-hosted install, created on first use."""
    rows = select_all(session, WORKSPACES)
    if rows:
        return rows[0]["id"], rows[0]["org_id"]
    now = time.time()
    org_id, workspace_id = new_tenant_id("org"), new_tenant_id("ws")
    insert_rows(
        session, ORGANIZATIONS, [{"id": org_id, "name": "default", "created_at": now}], version()
    )
    insert_rows(
        session,
        WORKSPACES,
        [{"id": workspace_id, "org_id": org_id, "name": "default", "created_at": now}],
        version(),
    )
    return workspace_id, org_id


def projects(session: Session) -> list[Project]:
    """Every project, oldest first."""
    org_of = {w["id"]: w["org_id"] for w in select_all(session, WORKSPACES)}
    return [
        Project(
            id=p["id"],
            name=p["name"],
            workspace_id=p["workspace_id"],
            org_id=org_of.get(p["workspace_id"], ""),
            created_at=p["created_at"],
        )
        for p in select_all(session, PROJECTS)
    ]


def project_named(session: Session, name: str) -> Project:
    for project in projects(session):
        if project.name == name:
            return project
    raise NotFound(f"no project named {name!r}", field="project")


def insert_project(session: Session, name: str, workspace_id: str, version: Version) -> Project:
    if any(p.name == name and p.workspace_id == workspace_id for p in projects(session)):
        raise ValidationFailed(f"a project named {name!r} already exists", field="name")
    row = {
        "id": new_tenant_id("proj"),
        "workspace_id": workspace_id,
        "name": name,
        "created_at": time.time(),
        "retention_days": None,
    }
    insert_rows(session, PROJECTS, [row], version())
    return next(p for p in projects(session) if p.id == row["id"])


def insert_key(
    session: Session, project: Project, kind: KeyKind, version: Version
) -> tuple[ApiKey, str]:
    key_id, secret = generate_key(kind)
    row = {
        "id": key_id,
        "project_id": project.id,
        "kind": kind,
        "secret_hash": hash_key(secret),
        "created_at": time.time(),
        "revoked_at": None,
    }
    insert_rows(session, API_KEYS, [row], version())
    return _api_key(row, project.name), secret


def keys(session: Session) -> list[ApiKey]:
    names = {p.id: p.name for p in projects(session)}
    return [
        _api_key(row, names[row["project_id"]])
        for row in select_all(session, API_KEYS)
        if row["project_id"] in names
    ]


def revoke_key(session: Session, key_id: str, version: Version) -> ApiKey:
    rows = select_all(session, API_KEYS, "WHERE id = {id:String}", id=key_id)
    if not rows:
        raise NotFound(f"no key with id {key_id!r}", field="key_id")
    row = rows[0]
    if row["revoked_at"] is None:
        row["revoked_at"] = time.time()
        insert_rows(session, API_KEYS, [row], version())
    names = {p.id: p.name for p in projects(session)}
    return _api_key(row, names.get(row["project_id"], ""))


def _api_key(row: dict[str, Any], project_name: str) -> ApiKey:
    return ApiKey(
        id=row["id"],
        project_id=row["project_id"],
        project_name=project_name,
        kind=row["kind"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def set_retention(session: Session, project_name: str, days: int | None, version: Version) -> None:
    rows = [r for r in select_all(session, PROJECTS) if r["name"] == project_name]
    if not rows:
        raise NotFound(f"no project named {project_name!r}", field="project")
    for row in rows:
        row["retention_days"] = days
    insert_rows(session, PROJECTS, rows, version())


def retention_days(session: Session) -> dict[str, int | None]:
    return {row["id"]: row["retention_days"] for row in select_all(session, PROJECTS)}


def add_redaction(
    session: Session, project_name: str, pattern: str, replacement: str, version: Version
) -> RedactionRule:
    compile_pattern(pattern)
    project = project_named(session, project_name)
    # Without FINAL, removed rules' tombstones count too: ids are never reused, as
    # SQLite's AUTOINCREMENT.
    (last,) = session.rows(f"SELECT max(id) FROM {REDACTION_RULES.name}")[0]
    row = {
        "id": int(last or 0) + 1,
        "project_id": project.id,
        "pattern": pattern,
        "replacement": replacement,
        "created_at": time.time(),
    }
    insert_rows(session, REDACTION_RULES, [row], version())
    return _rule(row, project.name)


def redactions(session: Session) -> list[RedactionRule]:
    """Every rule, by project (oldest first), each project's in the order they apply."""
    order = {p.id: (i, p.name) for i, p in enumerate(projects(session))}
    rules = [r for r in select_all(session, REDACTION_RULES) if r["project_id"] in order]
    rules.sort(key=lambda r: (order[r["project_id"]][0], r["id"]))
    return [_rule(r, order[r["project_id"]][1]) for r in rules]


def remove_redaction(session: Session, rule_id: int, version: Version) -> RedactionRule:
    for rule in redactions(session):
        if rule.id == rule_id:
            values = [rule.id, rule.project_id, rule.pattern, rule.replacement, rule.created_at]
            session.insert(REDACTION_RULES, [[*values, version(), 1]])
            return rule
    raise NotFound(f"no redaction rule with id {rule_id}", field="rule_id")


def _rule(row: dict[str, Any], project_name: str) -> RedactionRule:
    return RedactionRule(
        id=row["id"],
        project_id=row["project_id"],
        project_name=project_name,
        pattern=row["pattern"],
        replacement=row["replacement"],
        created_at=row["created_at"],
    )


_DUMPED_TABLES = (*TENANCY_TABLES, MODEL_PRICES)
"""What `copy` moves, parents first: tenancy, and projects' own prices."""


def export_tenancy(session: Session) -> TenancyDump:
    return TenancyDump(
        **{table.name: tuple(select_all(session, table)) for table in _DUMPED_TABLES}
    )


def import_tenancy(session: Session, dump: TenancyDump, version: Version) -> None:
    """Insert the rows whose id this store lacks, parents first."""
    for table in _DUMPED_TABLES:
        known = {name for name, _ in table.columns}
        present = {row["id"] for row in select_all(session, table)}
        fresh: list[TenancyRow] = []
        for row in getattr(dump, table.name):
            if not row.keys() <= known:
                raise ValidationFailed(
                    f"{table.name} has no column {sorted(row.keys() - known)[0]!r}",
                    field=table.name,
                )
            if row["id"] not in present:
                fresh.append(row)
                present.add(row["id"])
        if fresh:
            insert_rows(session, table, fresh, version())
