"""Versions and deployments of prompts (configurations) and evaluators (metrics).

A configuration or metric keeps one stable `id`; every update appends an immutable
`Version` and never rewrites an older one. Versions are ordered, and numbered from 1,
by `(at_ms, change_id)` like dataset changes, so appending needs no read of a counter.

A `Deployment` points an environment at a version: `dev`, `staging` and `prod` for
prompts, `DEPLOYED` for a metric's single live version. Deployments are a log as
well; the latest one per environment wins (`deployed`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.evaluation.changelog import VersionKey
from hivekeeper.domain.filters import integer_or_none
from hivekeeper.domain.types import JsonObject

DEPLOYED = "deployed"
"""The one environment of a metric: the version evaluations use."""


@dataclass(frozen=True, slots=True)
class Version:
    """One immutable version of a configuration's or metric's content."""

    key: VersionKey
    content: JsonObject
    key_id: str | None = None
    message: str | None = None

    @property
    def change_id(self) -> str:
        return self.key[1]

    @property
    def sha(self) -> str:
        """A content hash naming this version (the metric versions' `full_sha`): the
        same content saved twice still gets two names, as the change id is hashed in."""
        canonical = orjson.dumps(self.content, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(self.change_id.encode() + b"\0" + canonical).hexdigest()

    @property
    def name(self) -> str:
        """The short name a version is deployed by: the first 12 hex digits of `sha`."""
        return self.sha[:12]


@dataclass(frozen=True, slots=True)
class Deployment:
    """`env` pointed at the version whose change id is `change_id`, at `key`."""

    env: str
    change_id: str
    key: VersionKey


@dataclass(frozen=True, slots=True)
class Definition:
    """A stored configuration or metric: its versions and deployments, each oldest first."""

    id: str
    versions: tuple[Version, ...]
    deployments: tuple[Deployment, ...]

    @property
    def latest(self) -> Version:
        """The newest version (a stored definition has at least one)."""
        return self.versions[-1]


def ordered(versions: Iterable[Version]) -> list[Version]:
    """Versions oldest first; the version number of `ordered(v)[i]` is `i + 1`."""
    return sorted(versions, key=lambda v: v.key)


def number_of(versions: Sequence[Version], change_id: str) -> int:
    """The version number of `change_id` among `versions`. Raises NotFound."""
    for n, version in enumerate(ordered(versions), start=1):
        if version.change_id == change_id:
            return n
    raise NotFound(f"no version {change_id!r}")


def find(versions: Sequence[Version], ref: str) -> Version:
    """The version `ref` names: its number (`3` or `v3`), change id, `sha` or short
    `name`. Raises NotFound naming `ref`."""
    versions = ordered(versions)
    text = ref.strip()
    digits = text[1:] if text[:1] in ("v", "V") else text
    number = integer_or_none(digits, len(versions))
    if number is not None and 1 <= number <= len(versions):
        return versions[number - 1]
    for version in versions:
        if text in (version.change_id, version.sha, version.name):
            return version
    raise NotFound(f"no version {ref!r}", field="version")


def deployed(deployments: Iterable[Deployment]) -> dict[str, str]:
    """Environment → the change id deployed there: the latest deployment per env."""
    current: dict[str, tuple[VersionKey, str]] = {}
    for deployment in deployments:
        held = current.get(deployment.env)
        if held is None or deployment.key > held[0]:
            current[deployment.env] = (deployment.key, deployment.change_id)
    return {env: change_id for env, (_, change_id) in current.items()}
