"""Assert that a parser refuses its input with a 400 naming the right field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hivekeeper.domain.errors import ValidationFailed


def fails(field: str, call: Callable[..., object], *args: Any, **kwargs: Any) -> ValidationFailed:
    """Call `call(*args, **kwargs)`, expect ValidationFailed naming `field`, return it."""
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, caught.value.message
    return caught.value
