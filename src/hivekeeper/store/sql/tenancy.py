"""Tenancy and data-care records in SQL, shared by the SQLite and PostgreSQL stores, and
the rules every engine applies to them (`project_name`, `principal`).

The statements are plain SQL with `?` placeholders over the same tables in both engines;
a store passes a connection whose `execute` binds them (psycopg's is wrapped) and owns
the transaction, the error translation and the event rows. Functions raise NotFound or
ValidationFailed for a user's mistake; a name clash surfaces as the driver's integrity
error, which the store translates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.redaction import RedactionRule, compile_pattern
from hivekeeper.domain.tenancy import (
    ApiKey,
    KeyKind,
    Principal,
    Project,
    generate_key,
    hash_key,
    key_matches,
    new_tenant_id,
)
from hivekeeper.store.protocol import Bootstrap

_PROJECT_SELECT = (
    "SELECT p.id, p.name, p.workspace_id, w.org_id, p.created_at "
    "FROM projects p JOIN workspaces w ON w.id = p.workspace_id"
)
_KEY_SELECT = (
    "SELECT k.id, k.project_id, p.name, k.kind, k.created_at, k.revoked_at "
    "FROM api_keys k JOIN projects p ON p.id = k.project_id"
)
_RULE_SELECT = (
    "SELECT r.id, r.project_id, p.name, r.pattern, r.replacement, r.created_at "
    "FROM redaction_rules r JOIN projects p ON p.id = r.project_id"
)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What these functions need of a connection: `execute` with `?` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...


def bootstrap(conn: Connection) -> Bootstrap:
    """Ensure the default organization, workspace and project; mint a key if none exist."""
    workspace_id, _ = _ensure_workspace(conn)
    row = conn.execute(
        f"{_PROJECT_SELECT} WHERE p.name = 'default' AND p.workspace_id = ?", (workspace_id,)
    ).fetchone()
    project = _project(row) if row else _insert_project(conn, "default", workspace_id)
    secret = None
    if conn.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0] == 0:
        _, secret = _insert_key(conn, project.id, "full")
    return Bootstrap(project=project, new_key_secret=secret)


def project_name(name: str) -> str:
    """The stripped name; ValidationFailed unless 1-100 characters."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("a project name must be 1-100 characters", field="name")
    return name


def create_project(conn: Connection, name: str) -> Project:
    """Insert a project named `name` (already checked by `project_name`)."""
    workspace_id, _ = _ensure_workspace(conn)
    return _insert_project(conn, name, workspace_id)


def list_projects(conn: Connection) -> list[Project]:
    return [_project(r) for r in conn.execute(f"{_PROJECT_SELECT} ORDER BY p.created_at")]


def create_key(conn: Connection, project_name: str, kind: KeyKind) -> tuple[ApiKey, str]:
    """The new key and its secret. NotFound for no project."""
    _ensure_workspace(conn)
    row = conn.execute("SELECT id FROM projects WHERE name = ?", (project_name,)).fetchone()
    if row is None:
        raise NotFound(f"no project named {project_name!r}", field="project")
    return _insert_key(conn, row[0], kind)


def list_keys(conn: Connection) -> list[ApiKey]:
    return [_api_key(r) for r in conn.execute(f"{_KEY_SELECT} ORDER BY k.created_at")]


def revoke_key(conn: Connection, key_id: str) -> ApiKey:
    """Revoke a key (idempotent). NotFound for an unknown id."""
    conn.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (time.time(), key_id),
    )
    row = conn.execute(f"{_KEY_SELECT} WHERE k.id = ?", (key_id,)).fetchone()
    if row is None:
        raise NotFound(f"no key with id {key_id!r}", field="key_id")
    return _api_key(row)


class StoredKey(NamedTuple):
    """An unrevoked key as a store finds it by the hash of its secret."""

    secret_hash: str
    key_id: str
    kind: KeyKind
    project: Project


def principal(secret: str, find_key: Callable[[str], StoredKey | None]) -> Principal | None:
    """The principal of a valid, unrevoked key, else None (every engine's rule).

    `find_key` looks up the unrevoked key stored under a secret's hash; the secret is
    then compared with what was stored in constant time, so a lookup that matched a
    hash by any other route never grants access."""
    found = find_key(hash_key(secret))
    if found is None or not key_matches(secret, found.secret_hash):
        return None
    return Principal(key_id=found.key_id, kind=found.kind, project=found.project)


def authenticate(conn: Connection, secret: str) -> Principal | None:
    """The principal of a valid, unrevoked key, else None."""

    def find_key(secret_hash: str) -> StoredKey | None:
        row = conn.execute(
            "SELECT k.secret_hash, k.id, k.kind, p.id, p.name, p.workspace_id, w.org_id, "
            "p.created_at FROM api_keys k JOIN projects p ON p.id = k.project_id "
            "JOIN workspaces w ON w.id = p.workspace_id "
            "WHERE k.secret_hash = ? AND k.revoked_at IS NULL",
            (secret_hash,),
        ).fetchone()
        return None if row is None else StoredKey(row[0], row[1], row[2], _project(row[3:]))

    return principal(secret, find_key)


def set_retention(conn: Connection, project_name: str, days: int | None) -> None:
    """Set a project's retention (None: the server default). NotFound for no project."""
    updated = conn.execute(
        "UPDATE projects SET retention_days = ? WHERE name = ?", (days, project_name)
    ).rowcount
    if not updated:
        raise NotFound(f"no project named {project_name!r}", field="project")


def retention_days(conn: Connection) -> dict[str, int | None]:
    return {
        row[0]: row[1]
        for row in conn.execute("SELECT id, retention_days FROM projects ORDER BY created_at")
    }


def add_redaction(
    conn: Connection, project_name: str, pattern: str, replacement: str
) -> RedactionRule:
    """ValidationFailed for a bad pattern, NotFound for no project."""
    compile_pattern(pattern)
    row = conn.execute("SELECT id FROM projects WHERE name = ?", (project_name,)).fetchone()
    if row is None:
        raise NotFound(f"no project named {project_name!r}", field="project")
    (rule_id,) = conn.execute(
        "INSERT INTO redaction_rules (project_id, pattern, replacement, created_at) "
        "VALUES (?, ?, ?, ?) RETURNING id",
        (row[0], pattern, replacement, time.time()),
    ).fetchone()
    return _rule(conn.execute(f"{_RULE_SELECT} WHERE r.id = ?", (rule_id,)).fetchone())


def list_redactions(conn: Connection) -> list[RedactionRule]:
    """Every rule, by project, in the order each project's rules apply."""
    return [_rule(r) for r in conn.execute(f"{_RULE_SELECT} ORDER BY p.created_at, r.id")]


def remove_redaction(conn: Connection, rule_id: int) -> RedactionRule:
    """NotFound for an unknown id."""
    row = conn.execute(f"{_RULE_SELECT} WHERE r.id = ?", (rule_id,)).fetchone()
    if row is None:
        raise NotFound(f"no redaction rule with id {rule_id}", field="rule_id")
    conn.execute("DELETE FROM redaction_rules WHERE id = ?", (rule_id,))
    return _rule(row)


def _ensure_workspace(conn: Connection) -> tuple[str, str]:
    """The single workspace of a self-hosted install, created on first use."""
    row = conn.execute("SELECT id, org_id FROM workspaces ORDER BY created_at LIMIT 1").fetchone()
    if row:
        return row[0], row[1]
    now = time.time()
    org_id, workspace_id = new_tenant_id("org"), new_tenant_id("ws")
    conn.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES (?, 'default', ?)", (org_id, now)
    )
    conn.execute(
        "INSERT INTO workspaces (id, org_id, name, created_at) VALUES (?, ?, 'default', ?)",
        (workspace_id, org_id, now),
    )
    return workspace_id, org_id


def _insert_project(conn: Connection, name: str, workspace_id: str) -> Project:
    project_id = new_tenant_id("proj")
    conn.execute(
        "INSERT INTO projects (id, workspace_id, name, created_at) VALUES (?, ?, ?, ?)",
        (project_id, workspace_id, name, time.time()),
    )
    return _project(conn.execute(f"{_PROJECT_SELECT} WHERE p.id = ?", (project_id,)).fetchone())


def _insert_key(conn: Connection, project_id: str, kind: KeyKind) -> tuple[ApiKey, str]:
    key_id, secret = generate_key(kind)
    conn.execute(
        "INSERT INTO api_keys (id, project_id, kind, secret_hash, created_at, revoked_at) "
        "VALUES (?, ?, ?, ?, ?, NULL)",
        (key_id, project_id, kind, hash_key(secret), time.time()),
    )
    return _api_key(conn.execute(f"{_KEY_SELECT} WHERE k.id = ?", (key_id,)).fetchone()), secret


def _project(row: Sequence[Any]) -> Project:
    return Project(id=row[0], name=row[1], workspace_id=row[2], org_id=row[3], created_at=row[4])


def _api_key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        id=row[0],
        project_id=row[1],
        project_name=row[2],
        kind=row[3],
        created_at=row[4],
        revoked_at=row[5],
    )


def _rule(row: Sequence[Any]) -> RedactionRule:
    return RedactionRule(*row)
