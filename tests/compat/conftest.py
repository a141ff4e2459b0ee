"""What every compat test shares: an environment the SDK reads nothing from."""

from __future__ import annotations

import pytest

# The SDK resolves keys and the base URL from these when an argument is missing;
# a developer's shell must not change what the tests send.
_SDK_ENV = (
    "HH_API_KEY",
    "HH_INGESTION_API_KEY",
    "HH_DATA_PLANE_API_KEY",
    "HH_API_URL",
    "HONEYHIVE_SERVER_URL",
    "HH_SERVER_URL",
    "HH_API_TIMEOUT",
    "HH_MAX_RETRIES",
    "HH_PROJECT",
)


@pytest.fixture(autouse=True)
def _no_sdk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SDK_ENV:
        monkeypatch.delenv(name, raising=False)
