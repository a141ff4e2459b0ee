"""Logging set-up: one dictConfig, text or one JSON object per line; a flood guard."""

from __future__ import annotations

import json
import logging
import logging.config
import time
from collections.abc import Callable
from typing import Any

ACCESS_LOGGER = "hivekeeper.access"
FIELDS = "fields"
"""`extra` key of a record's structured fields, which the JSON format writes as keys."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and exc_info)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out)


class RateLimitedLog:
    """Lets at most `per_minute` records a minute through to `logger`, for messages a
    client can cause at will (a scanner's 404s, a flood of slow connections); the next
    record let through says how many were dropped. Not thread-safe: for the event loop.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_minute: int = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._per_minute = per_minute
        self._clock = clock
        self._window_ends = 0.0
        self._sent = 0
        self._dropped = 0

    def info(self, msg: str, *args: object, fields: dict[str, Any] | None = None) -> None:
        if not self._logger.isEnabledFor(logging.INFO):
            return
        now = self._clock()
        if now >= self._window_ends:
            self._window_ends = now + 60.0
            self._sent = 0
        if self._sent >= self._per_minute:
            self._dropped += 1
            return
        self._sent += 1
        if self._dropped:
            msg += " (%d similar messages dropped in the last minute)"
            args = (*args, self._dropped)
            self._dropped = 0
        self._logger.info(msg, *args, extra={FIELDS: fields} if fields else None)


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """The dictConfig for hivekeeper and uvicorn loggers (uvicorn takes it as log_config).

    The access log has a level of its own: `--access-log` turns it on whatever the
    `--log-level`, and uvicorn's own access log stays off (ours knows the route and
    never writes a query string).
    """
    formatter = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "hivekeeper": {"handlers": ["main"], "level": level.upper(), "propagate": False},
            ACCESS_LOGGER: {"handlers": ["main"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["main"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": ["main"], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(level: str, fmt: str) -> None:
    logging.config.dictConfig(logging_config(level, fmt))
