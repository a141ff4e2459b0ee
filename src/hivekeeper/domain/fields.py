"""Typed reads of one JSON object of a request body, naming the field at fault.

The evaluation plane's parsers (and saved charts') read their bodies through `Fields`,
so a wrong type always answers the same way: a `ValidationFailed` whose `field` is the full path
(`mapping.inputs[2]`, `parameters.model`) and whose message says what was expected.
A key sent as `null` reads as absent, as the SDK leaves out what it has no value for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar, cast

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import json_type, parse_id, require_object
from hivekeeper.domain.types import JsonObject

T = TypeVar("T")
_TOP = frozenset({"body", "query"})
"""Names of a whole body or query string: their keys are named bare (`name`)."""


class Fields:
    """One JSON object of a body, and the path (`where`) it sits at."""

    __slots__ = ("obj", "where")

    def __init__(self, raw: object, where: str) -> None:
        self.obj: JsonObject = require_object(raw, where)
        self.where = where

    def path(self, key: str) -> str:
        """The field path of `key`: `where.key`, or `key` at the top of a body or query."""
        return key if self.where in _TOP else f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        """Whether `key` is present with a non-null value."""
        return self.obj.get(key) is not None

    def raw(self, key: str) -> object:
        """The value of `key` as sent (None when absent)."""
        return self.obj.get(key)

    def nested(self, key: str) -> Fields | None:
        """The object at `key` as `Fields`, None when absent."""
        value = self.obj.get(key)
        return None if value is None else Fields(value, self.path(key))

    def string(self, key: str, *, required: bool = False) -> str | None:
        """A string (may be empty); `required` makes absence an error."""
        value = self._get(key, required)
        if value is None or isinstance(value, str):
            return value
        raise self._wrong(key, value, "a string")

    def text(self, key: str) -> str:
        """A required string holding more than white space, stripped."""
        value = self.string(key, required=True) or ""
        if not value.strip():
            raise ValidationFailed(f"{self.path(key)} must not be empty", field=self.path(key))
        return value.strip()

    def identifier(self, key: str, *, required: bool = False) -> str | None:
        """An id: 1-256 printable characters."""
        value = self._get(key, required)
        return None if value is None else parse_id(value, self.path(key))

    def boolean(self, key: str) -> bool | None:
        value = self.obj.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._wrong(key, value, "a boolean")

    def number(
        self, key: str, *, minimum: float | None = None, maximum: float | None = None
    ) -> float | None:
        """A finite number within `[minimum, maximum]` when given."""
        value = self.obj.get(key)
        if value is None:
            return None
        number = finite_number(value)
        if number is None:
            raise self._wrong(key, value, "a finite number")
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ValidationFailed(
                f"{self.path(key)} must be between {minimum:g} and {maximum:g}, got {number:g}"
                if minimum is not None and maximum is not None
                else f"{self.path(key)} is out of range: {number:g}",
                field=self.path(key),
            )
        return number

    def integer(self, key: str, *, minimum: int = 0) -> int | None:
        """A whole number (`3` or `3.0`) of at least `minimum`."""
        number = self.number(key)
        if number is None:
            return None
        if not number.is_integer() or number < minimum:
            raise ValidationFailed(
                f"{self.path(key)} must be a whole number of at least {minimum}",
                field=self.path(key),
            )
        return int(number)

    def json_object(self, key: str, *, required: bool = False) -> JsonObject | None:
        value = self._get(key, required)
        if value is None or isinstance(value, dict):
            return value
        raise self._wrong(key, value, "a JSON object")

    def json_objects(self, key: str) -> list[JsonObject] | None:
        """An array of JSON objects."""
        return self._array(key, dict, "a JSON object")

    def strings(self, key: str) -> list[str] | None:
        """An array of strings."""
        return self._array(key, str, "a string")

    def identifiers(self, key: str) -> list[str] | None:
        """An array of ids, each 1-256 printable characters; duplicates dropped, order kept."""
        items = self._array(key, object, "an id")
        if items is None:
            return None
        path = self.path(key)
        return list(dict.fromkeys(parse_id(item, f"{path}[{i}]") for i, item in enumerate(items)))

    def choice(self, key: str, options: tuple[str, ...], *, required: bool = False) -> str | None:
        """One of `options`, matched without regard to case; answers the option's spelling."""
        value = self.string(key, required=required)
        return None if value is None else _pick(value, options, self.path(key))

    def choices(self, key: str, options: tuple[str, ...]) -> list[str] | None:
        """An array of `options` (case-insensitive), duplicates dropped, order kept."""
        items = self.strings(key)
        if items is None:
            return None
        path = self.path(key)
        return list(dict.fromkeys(_pick(v, options, f"{path}[{i}]") for i, v in enumerate(items)))

    def extra(self, known: Iterable[str]) -> JsonObject:
        """The keys not in `known`, as sent (kept and echoed back, never dropped)."""
        names = frozenset(known)
        return {k: v for k, v in self.obj.items() if k not in names}

    def _get(self, key: str, required: bool) -> Any:
        value = self.obj.get(key)
        if value is None and required:
            raise ValidationFailed(f"{self.path(key)} is required", field=self.path(key))
        return value

    def _array(self, key: str, item_type: type[T], expected: str) -> list[T] | None:
        """An array whose every item is an `item_type` (`expected` names it on error)."""
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._wrong(key, value, "an array")
        for i, item in enumerate(value):
            if not isinstance(item, item_type):
                path = f"{self.path(key)}[{i}]"
                raise ValidationFailed(
                    f"{path} must be {expected}, got {json_type(item)}", field=path
                )
        return value

    def _wrong(self, key: str, value: object, expected: str) -> ValidationFailed:
        path = self.path(key)
        return ValidationFailed(f"{path} must be {expected}, got {json_type(value)}", field=path)


def _pick(value: str, options: tuple[str, ...], path: str) -> str:
    for option in options:
        if option.lower() == value.strip().lower():
            return option
    raise ValidationFailed(f"{path} must be one of {', '.join(options)}, got {value!r}", field=path)


def as_object(value: object) -> JsonObject:
    """`value` when it is a JSON object, else an empty one (for reading stored rows)."""
    return value if isinstance(value, dict) else {}


def finite_number(value: object) -> float | None:
    """`value` as a float when it is a finite JSON number (booleans are not numbers)."""
    # Exact type checks first: this runs for every score of every run result.
    kind = type(value)
    if kind is float:
        number = cast(float, value)
    elif kind is int or (isinstance(value, int | float) and not isinstance(value, bool)):
        number = float(cast(float, value))
    else:
        return None
    return number if math.isfinite(number) else None
