"""Organizations, projects and API keys: who may read and write which project.

Keys are random, shown once and stored only as a SHA-256 hash. A slow password hash
buys nothing here: a key carries 380 bits of randomness, so it cannot be guessed from
its hash, and the lookup must stay cheap because every request performs it.

A key's kind decides what it may do in its project (`Principal`'s capabilities):

- `full` (`hh_…`): everything: telemetry, reads, datasets, prompts, evaluators, runs;
- `ingest` (`hh_ingst_…`): write telemetry only (sessions, events, spans);
- `dataplane` (`hh_fgdp_…`): only the `/v1/projects/{project_id}/…` routes of its
  own project (saved charts, key management), which the SDK sends it to.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from typing import Literal, get_args

KeyKind = Literal["full", "ingest", "dataplane"]
KEY_KINDS: tuple[str, ...] = get_args(KeyKind)

_ALPHANUMERIC = string.ascii_letters + string.digits
_SECRET_ALPHABET = _ALPHANUMERIC + "_-"
# The HoneyHive SDK recognises ingestion and data-plane keys by these exact shapes
# (hh_ingst_ or hh_fgdp_, then <24 alnum>_<64 chars>) and refuses any other before
# sending, so our keys of those kinds use them too.
_PREFIX: dict[str, str] = {"full": "hh_", "ingest": "hh_ingst_", "dataplane": "hh_fgdp_"}
# Anything shaped like one of our keys (any kind), for scrubbing text before it is logged.
_KEY_SHAPE = re.compile(r"hh_[A-Za-z0-9_-]+")
_KEY_ID = re.compile(r"[A-Za-z0-9]{24}")
_WHOLE_KEY = re.compile(r"hh_(?:ingst_|fgdp_)?([A-Za-z0-9]{24})_[A-Za-z0-9_-]{64}")
# What each kind may do (see the module docstring); `Principal` answers from this.
_TELEMETRY: frozenset[str] = frozenset({"full", "ingest"})
_PROJECT_ROUTES: frozenset[str] = frozenset({"full", "dataplane"})
_LIMITS: dict[str, str] = {
    "full": "a full key: it may read and write everything of its own project",
    "ingest": "an ingest-only key: it may write events but not read them",
    "dataplane": "a data-plane key: it is accepted only on the /v1/projects/{project_id}/… "
    "routes of its own project",
}


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    workspace_id: str
    org_id: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key's public record; the secret itself is never stored."""

    id: str
    project_id: str
    project_name: str
    kind: KeyKind
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller a valid key identifies, and what its kind lets it do."""

    key_id: str
    kind: KeyKind
    project: Project

    @property
    def can_write_telemetry(self) -> bool:
        """Start sessions, write events and spans (full and ingest keys)."""
        return self.kind in _TELEMETRY

    @property
    def can_read(self) -> bool:
        """Read and manage everything of its project: events, datasets, prompts,
        evaluators, runs, charts; sign in to the web UI (full keys only)."""
        return self.kind == "full"

    @property
    def can_use_project_routes(self) -> bool:
        """Use the `/v1/projects/{project_id}/…` routes of its own project (full and
        data-plane keys)."""
        return self.kind in _PROJECT_ROUTES

    @property
    def limits(self) -> str:
        """What this kind of key may do, as a refusal says it ("an ingest-only key: it
        may write events but not read them")."""
        return _LIMITS[self.kind]


def generate_key(kind: KeyKind) -> tuple[str, str]:
    """Return `(key_id, secret)`; the id is the 24-character public part of the secret."""
    key_id = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))
    tail = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(64))
    return key_id, f"{_PREFIX[kind]}{key_id}_{tail}"


def mask_keys(text: str) -> str:
    """`text` with everything shaped like an API key replaced by `hh_…`."""
    return _KEY_SHAPE.sub("hh_…", text)


def key_id_of(text: str) -> str | None:
    """The id of the key `text` names: `text` itself if it is a key id, the id inside it
    if it is a whole key; None for anything else (which may be a mistyped secret)."""
    text = text.strip()
    if _KEY_ID.fullmatch(text):
        return text
    whole = _WHOLE_KEY.fullmatch(text)
    return whole.group(1) if whole else None


def hash_key(secret: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def key_matches(secret: str, stored_hash: str) -> bool:
    """Whether `secret` is the key stored as `stored_hash`, compared in constant time.

    Stores find a key by its hash (an index lookup), and that lookup's timing can at
    most reveal how many leading characters of a stored hash match the hash of the
    caller's guess; the caller knows its guess's hash anyway, and a matching prefix
    brings it no closer to a preimage. The final check is still constant-time, so no
    comparison of secret material anywhere depends on how much of it matched.
    """
    return hmac.compare_digest(hash_key(secret).encode(), stored_hash.encode())


def new_tenant_id(prefix: str) -> str:
    """An opaque id for an organization, workspace or project."""
    return f"{prefix}_{secrets.token_hex(12)}"


TenancyRow = dict[str, object]
"""One row of a tenancy table, by column name, as engines store it."""


@dataclass(frozen=True, slots=True)
class TenancyDump:
    """Every tenancy record of a store, ids and key hashes included, for `copy`.

    Each table's rows carry that table's columns: `organizations` (id, name,
    created_at), `workspaces` (id, org_id, name, created_at), `projects` (id,
    workspace_id, name, created_at, retention_days), `api_keys` (id, project_id, kind,
    secret_hash, created_at, revoked_at), `redaction_rules` (id, project_id, pattern,
    replacement, created_at), `model_prices` (id, project_id, provider, model,
    effective_from, rates, created_at).
    """

    organizations: tuple[TenancyRow, ...] = ()
    workspaces: tuple[TenancyRow, ...] = ()
    projects: tuple[TenancyRow, ...] = ()
    api_keys: tuple[TenancyRow, ...] = ()
    redaction_rules: tuple[TenancyRow, ...] = ()
    model_prices: tuple[TenancyRow, ...] = ()
