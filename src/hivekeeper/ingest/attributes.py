"""Span attribute values → event JSON: rebuilt flattened keys, parsed JSON strings, and
the object fields of the event being built (`EventFields`).

Tracers flatten nested values into dotted keys (`honeyhive_outputs.result.tokens.0`,
spec §7.1). `insert` puts such a key back into a tree of dicts and `finish` turns every
dict whose keys are exactly `"0".."n-1"` into a list. When a key is both a value and a
prefix (`a = 1` and `a.b = 2`), the value moves under `"value"` (`a = {"value": 1,
"b": 2}`), the same rule as a namespace key with no suffix; an explicit `a.value` key
beats the bare `a`. Functions mutate only the trees they build (and two bounded memos
of parsed keys); values the span holds are never modified.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_PATH_SEGMENTS = 32
"""A dotted key nests at most this deep; the rest of the key stays one segment.

Stored JSON must stay well under orjson's 254-level limit, or the whole batch would
be refused at write time (32 here + 64 for parsed JSON + a few for the event itself).
"""
MAX_JSON_DEPTH = 64
"""A JSON string nested deeper than this is kept as a string rather than parsed."""

JsonTree = dict[str, Any]
Pairs = list[tuple[str, Any]]
"""A family of flattened attributes as `(suffix after the family prefix, value)`."""

_MAX_MEMO = 8192
"""Entries per memo of parsed keys. Keys repeat from span to span (one instrumentation
sends the same ones), and parsing each once makes rebuilding a message list three times
faster; keys come from clients, so past this many, keys are parsed and not kept."""
_PATHS: dict[str, tuple[str, ...]] = {}
_ITEM_FIELDS: dict[str, dict[str, tuple[str, str]]] = {}


class _Leaf:
    """An object-valued attribute (OTLP kvlist) stored in a tree as data, not as a node.

    `finish` unwraps it, so its own `"0".."n-1"` keys are never turned into a list.
    """

    __slots__ = ("value",)

    def __init__(self, value: JsonTree) -> None:
        self.value = value


def split_key(key: str) -> tuple[str, ...]:
    """The segments of a dotted key, capped at `MAX_PATH_SEGMENTS`."""
    path = _PATHS.get(key)
    if path is None:
        parts = key.split(".")
        if len(parts) > MAX_PATH_SEGMENTS:
            parts[MAX_PATH_SEGMENTS - 1 :] = [".".join(parts[MAX_PATH_SEGMENTS - 1 :])]
        path = tuple(parts)
        if len(_PATHS) < _MAX_MEMO:
            _PATHS[key] = path
    return path


def insert(node: JsonTree, path: Sequence[str], value: Any) -> None:
    """Put `value` at `path` under `node`, creating the intermediate objects."""
    if type(value) is dict:
        value = _Leaf(value)
    for segment in path[:-1]:
        child = node.get(segment)
        if type(child) is not dict:
            child = node[segment] = {} if child is None else {"value": child}
        node = child
    last = path[-1]
    existing = node.get(last)
    if type(existing) is dict:
        existing.setdefault("value", value)
    else:
        node[last] = value


def insert_bare(node: JsonTree, value: Any) -> None:
    """A namespace key with no suffix: an object merges in, a scalar becomes `value`."""
    if type(value) is dict:
        for key, item in value.items():
            node.setdefault(key, _Leaf(item) if type(item) is dict else item)
    else:
        node.setdefault("value", value)


def finish(node: JsonTree) -> JsonTree:
    """Turn index-keyed objects below `node` into lists (in place); `node` stays a dict."""
    for key, child in node.items():
        kind = type(child)
        if kind is dict:
            node[key] = _finished(child)
        elif kind is _Leaf:
            node[key] = child.value
    return node


def _finished(node: JsonTree) -> JsonTree | list[Any]:
    finish(node)
    if "0" in node:
        keys = [str(i) for i in range(len(node))]
        if all(key in node for key in keys):
            return [node[key] for key in keys]
    return node


def rebuild_object(flat: Iterable[tuple[str, Any]]) -> JsonTree:
    """The object that flattened `(dotted key, value)` pairs came from."""
    root: JsonTree = {}
    for key, value in flat:
        insert(root, split_key(key), value)
    return finish(root)


def indexed(pairs: Pairs, wrapper: str = "") -> list[Any]:
    """The items of a list family (`N.field…`) in index order, each an object.

    The fast path for message, tool and document lists: OpenInference wraps each
    item's fields in `wrapper` (`0.message.role`), which is dropped here; Traceloop
    does not (`0.role`). Index gaps keep the order; deeper fields are rebuilt.
    """
    items: dict[str, JsonTree] = {}
    nested = False
    memo = _ITEM_FIELDS.get(wrapper)
    if memo is None:
        memo = _ITEM_FIELDS[wrapper] = {}
    for suffix, value in pairs:
        parsed = memo.get(suffix)
        if parsed is None:
            parsed = _item_field(suffix, wrapper)
            if len(memo) < _MAX_MEMO:
                memo[suffix] = parsed
        index, rest = parsed
        item = items.get(index)
        if item is None:
            item = items[index] = {}
        if not rest:
            insert_bare(item, value)
            nested = True
        elif "." in rest or rest in item or type(value) is dict:
            insert(item, split_key(rest), value)
            nested = True
        else:
            item[rest] = value
    if nested:
        for item in items.values():
            finish(item)
    keys = list(items)
    if keys == _INDEXES[: len(keys)]:
        return list(items.values())
    return [items[k] for k in sorted(items, key=_index_order)]


def _item_field(suffix: str, wrapper: str) -> tuple[str, str]:
    """`0.message.role` → (`0`, `role`); `""` for a value at the item itself."""
    index, _, rest = suffix.partition(".")
    if wrapper and (rest == wrapper or rest.startswith(wrapper + ".")):
        rest = rest[len(wrapper) + 1 :]
    return index, rest


_INDEXES = [str(i) for i in range(64)]


def _index_order(key: str) -> tuple[bool, int, str]:
    return (not key.isdigit(), len(key), key)


def as_list(value: Any) -> list[Any]:
    """Items of a rebuilt family: a list as is, an object with gaps in key order."""
    if type(value) is list:
        return value
    if type(value) is dict:
        return [value[k] for k in sorted(value, key=_index_order)]
    return [value]


def parse_json(value: Any) -> Any:
    """The value a JSON string encodes; anything else, or a string that is not JSON
    (or nests deeper than `MAX_JSON_DEPTH`), is returned unchanged."""
    if type(value) is not str:
        return value
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
    # Counting brackets is one fast scan; the walk runs only for suspicious texts.
    if value.count("{") + value.count("[") > MAX_JSON_DEPTH and _depth(parsed) > MAX_JSON_DEPTH:
        return value
    return parsed


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
        if type(item) is dict:
            stack.extend((child, depth + 1) for child in item.values())
        elif type(item) is list:
            stack.extend((child, depth + 1) for child in item)
    return deepest


def as_number(value: Any) -> int | float | None:
    """A token count or cost: a finite number, or a string of one; None otherwise."""
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is str:
        try:
            return int(value)
        except ValueError:
            pass
        try:
            value = float(value)
        except ValueError:
            return None
    elif kind is not float:
        return None
    return float(value) if math.isfinite(value) else None


def object_at(node: JsonTree, key: str) -> JsonTree:
    """A copy of the object under `key` put in its place, to be changed; created if
    missing, a scalar there moving to `value`. (The object may be a span's value.)"""
    child = node.get(key)
    if child is None:
        fresh: JsonTree = {}
    elif type(child) is dict:
        fresh = dict(child)
    else:
        fresh = {"value": child}
    node[key] = fresh
    return fresh


def merge_missing(target: JsonTree, extra: JsonTree, shadowed: JsonTree, prefix: str = "") -> None:
    """Add what `extra` has and `target` lacks, recursing into objects both have.

    A value that would replace one already in `target` goes to `shadowed` under its
    dotted path instead, so mapped keys win and nothing is dropped. Objects of
    `target` are copied before they change: they may be values the span still holds.
    """
    for key, value in extra.items():
        existing = target.get(key)
        if existing is None:
            target[key] = value
        elif type(existing) is dict and type(value) is dict:
            merged = target[key] = dict(existing)
            merge_missing(merged, value, shadowed, f"{prefix}{key}.")
        elif existing != value:
            shadowed[prefix + key] = value


@dataclass(slots=True)
class EventFields:
    """The object fields of the event being built, and where left-over values go."""

    config: JsonTree = field(default_factory=dict)
    inputs: JsonTree = field(default_factory=dict)
    outputs: JsonTree = field(default_factory=dict)
    metadata: JsonTree = field(default_factory=dict)
    metrics: JsonTree = field(default_factory=dict)
    feedback: JsonTree = field(default_factory=dict)
    user_properties: JsonTree = field(default_factory=dict)
    shadowed: JsonTree = field(default_factory=dict)
    """Mapped values whose place an explicit value already held, by dotted field path."""
    unmapped: dict[str, Any] = field(default_factory=dict)
    """Attributes no rule used, by original key; they end up in `metadata`."""

    def put(self, target: JsonTree, where: str, key: str, value: Any) -> None:
        """Set `target[key]` unless it holds another value; then shadow `value`."""
        existing = target.get(key)
        if existing is None:
            target[key] = value
        elif existing != value:
            self.shadowed[f"{where}.{key}"] = value

    def put_object(self, target: JsonTree, where: str, value: Any, fallback_key: str) -> None:
        """`put` each key of the object `value` is or encodes as JSON text; any other
        value is put whole under `fallback_key`."""
        parsed = parse_json(value)
        if type(parsed) is dict:
            for key, item in parsed.items():
                self.put(target, where, key, item)
        else:
            self.put(target, where, fallback_key, value)

    def merge_object(self, target: JsonTree, where: str, value: Any, fallback_key: str) -> None:
        """Like `put_object`, but objects within objects merge key by key
        (`merge_missing`), so that only the values that clash are shadowed."""
        parsed = parse_json(value)
        if type(parsed) is dict:
            merge_missing(target, parsed, self.shadowed, f"{where}.")
        else:
            self.put(target, where, fallback_key, value)

    def release(self, family: str, pairs: Pairs) -> None:
        """Keep a family no rule used as unmapped attributes, under its original keys."""
        for suffix, value in pairs:
            self.unmapped[f"{family}.{suffix}"] = value
