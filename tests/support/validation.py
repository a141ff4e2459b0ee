"""Assert that a parser refuses its input with a 400 naming the right field, and that
an HTTP answer is what the HoneyHive SDK accepts or the refusal a test expects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import BaseModel

from hivekeeper.domain.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def fails(field: str, call: Callable[..., object], *args: Any, **kwargs: Any) -> ValidationFailed:
    """Call `call(*args, **kwargs)`, expect ValidationFailed naming `field`, return it."""
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, caught.value.message
    return caught.value


def parsed(answer: httpx.Response, model: type[M]) -> M:
    """`answer` as the SDK takes it: exactly 200 (its generated services refuse any
    other status), with a JSON body its own pydantic `model` parses."""
    where = f"{answer.request.method} {answer.request.url}"
    assert answer.status_code == 200, (where, answer.text)
    return model.model_validate(answer.json())


def refused(
    answer: httpx.Response, status: int, error_code: str, field: str | None = None
) -> dict[str, Any]:
    """`answer` as the REST error the test expects: `status`, `{message, errorCode,
    field}` with this code (and field, when given); the body, for more checks."""
    where = f"{answer.request.method} {answer.request.url}"
    assert answer.status_code == status, (where, answer.text)
    body: dict[str, Any] = answer.json()
    assert body["errorCode"] == error_code and body["message"], (where, body)
    if field is not None:
        assert body.get("field") == field, (where, body)
    return body
