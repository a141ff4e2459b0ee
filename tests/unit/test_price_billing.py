"""Costs computed at write time by the merge rule: given wins, computed is marked, re-priced.

Expected values are worked out by hand from `prices.toml` (USD per million tokens).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest

from hivekeeper.domain.merge import apply_ops, rollup_metadata
from hivekeeper.domain.pricing import PriceTable, shipped_table
from hivekeeper.domain.types import EventPatch, Key, StoredRow, Update, Upsert

P = "proj"
NOW = 1_000_000.0
M = 1_000_000
JULY_2025_MS = datetime(2025, 7, 1, 12, tzinfo=UTC).timestamp() * 1000


def _model(event_id: str, metadata: dict[str, Any], **config: Any) -> Upsert:
    patch: EventPatch = {
        "event_id": event_id,
        "session_id": "s",
        "event_type": "model",
        "start_time": JULY_2025_MS,
        "config": {"model": "gpt-4o-mini", **config},
        "metadata": metadata,
    }
    return Upsert(P, patch)


def _apply(*ops: Upsert | Update, rows: dict[Key, StoredRow] | None = None) -> dict[Key, StoredRow]:
    rows = {} if rows is None else rows
    apply_ops(rows, ops, NOW)
    return rows


def test_tokens_and_a_model_without_a_cost_get_a_computed_cost_rolled_into_the_session() -> None:
    # gpt-4o-mini: input $0.15, output $0.60.
    rows = _apply(
        _model("a", {"prompt_tokens": 1_000, "completion_tokens": 500}),
        _model("b", {"prompt_tokens": 2_000, "completion_tokens": 0}),
    )
    a = rows[(P, "a")]["metadata"]
    assert a["cost"] == pytest.approx((1_000 * 0.15 + 500 * 0.60) / M)
    assert a["cost_source"] == "computed"
    assert a["cost_breakdown"]["model"] == "gpt-4o-mini"
    assert a["cost_breakdown"]["parts"] == pytest.approx(
        {"input": 1_000 * 0.15 / M, "output": 500 * 0.60 / M}
    )
    session = rollup_metadata(rows[(P, "s")])
    assert session["cost"] == pytest.approx((3_000 * 0.15 + 500 * 0.60) / M)


def test_a_cost_the_client_sent_wins_and_is_marked_given() -> None:
    rows = _apply(_model("a", {"prompt_tokens": 1_000, "completion_tokens": 500, "cost": 7.0}))
    meta = rows[(P, "a")]["metadata"]
    assert (meta["cost"], meta["cost_source"]) == (7.0, "given")
    assert "cost_breakdown" not in meta
    assert rollup_metadata(rows[(P, "s")])["cost"] == 7.0


def test_a_given_cost_arriving_after_a_computed_one_replaces_it_and_stays() -> None:
    rows = _apply(_model("a", {"prompt_tokens": 1_000, "completion_tokens": 500}))
    _apply(Update(P, {"event_id": "a", "metadata": {"cost": 0.5}}), rows=rows)
    meta = rows[(P, "a")]["metadata"]
    assert (meta["cost"], meta["cost_source"]) == (0.5, "given")
    assert "cost_breakdown" not in meta
    # Later writes (more tokens) never re-price a given cost.
    _apply(Update(P, {"event_id": "a", "metadata": {"completion_tokens": 9_000}}), rows=rows)
    assert rows[(P, "a")]["metadata"]["cost"] == 0.5
    assert rollup_metadata(rows[(P, "s")])["cost"] == 0.5


def test_a_cost_stored_before_costs_were_computed_counts_as_given() -> None:
    rows = _apply(_model("a", {"prompt_tokens": 1_000, "cost": 0.25}))
    del rows[(P, "a")]["metadata"]["cost_source"]  # as an older hivekeeper stored it
    _apply(Update(P, {"event_id": "a", "metadata": {"completion_tokens": 10}}), rows=rows)
    meta = rows[(P, "a")]["metadata"]
    assert (meta["cost"], meta["cost_source"]) == (0.25, "given")


def test_tokens_arriving_in_a_later_update_reprice_the_event_and_its_session() -> None:
    rows = _apply(_model("a", {"prompt_tokens": 1_000}))
    first = rows[(P, "a")]["metadata"]["cost"]
    assert first == pytest.approx(1_000 * 0.15 / M)
    _apply(Update(P, {"event_id": "a", "metadata": {"completion_tokens": 1_000}}), rows=rows)
    assert rows[(P, "a")]["metadata"]["cost"] == pytest.approx((150 + 600) / M)
    assert rollup_metadata(rows[(P, "s")])["cost"] == pytest.approx((150 + 600) / M)


def test_an_update_before_its_model_event_is_priced_when_the_event_arrives() -> None:
    rows = _apply(Update(P, {"event_id": "a", "metadata": {"completion_tokens": 1_000}}))
    assert "cost" not in rows[(P, "a")]["metadata"]  # pending: no type, no price
    _apply(_model("a", {"prompt_tokens": 1_000}), rows=rows)
    assert rows[(P, "a")]["metadata"]["cost"] == pytest.approx((150 + 600) / M)


@pytest.mark.parametrize(
    ("metadata", "config", "expected"),
    [
        # Cached input read, OpenAI (a subset of the prompt): gpt-4o-mini $0.15 / $0.075.
        (
            {"prompt_tokens": 10_000, "cache_read_tokens": 8_000, "completion_tokens": 100},
            {"model": "gpt-4o-mini-2024-07-18", "provider": "openai"},
            (2_000 * 0.15 + 8_000 * 0.075 + 100 * 0.60) / M,
        ),
        # Cache write and read, Anthropic's exclusive counts in its own usage shape:
        # claude-sonnet-4-5 input $3, 5m write $3.75, read $0.30, output $15.
        (
            {"input_tokens": 100, "cache_creation_input_tokens": 1_000,
             "cache_read_input_tokens": 4_000, "output_tokens": 200},
            {"model": "claude-sonnet-4-5-20250929", "provider": "anthropic"},
            (100 * 3 + 1_000 * 3.75 + 4_000 * 0.30 + 200 * 15) / M,
        ),
        # Reasoning inside completion (OpenAI o3 from 2025-06-10: $2 / $8), billed as output.
        (
            {"prompt_tokens": 1_000, "completion_tokens": 5_000, "reasoning_tokens": 4_000},
            {"model": "o3", "provider": "openai"},
            (1_000 * 2 + 5_000 * 8) / M,
        ),
    ],
    ids=["cache_read", "cache_write", "reasoning"],
)
def test_each_token_class_is_priced_at_its_own_rate_once(
    metadata: dict[str, Any], config: dict[str, Any], expected: float
) -> None:
    rows = _apply(_model("a", metadata, **config))
    assert rows[(P, "a")]["metadata"]["cost"] == pytest.approx(expected)
    assert rows[(P, "a")]["metadata"]["cost_source"] == "computed"


def test_a_per_request_price_is_charged_once_per_call() -> None:
    table = PriceTable.from_document(
        tomllib.loads(
            """
            [[model]]
            provider = "acme"
            name = "search-1"
            source = "ours"
            [[model.price]]
            input = 1.0
            request = 0.005
            """
        )
    )
    rows: dict[Key, StoredRow] = {}
    apply_ops(
        rows,
        [_model("a", {"prompt_tokens": 1_000}, model="search-1", provider="acme")],
        NOW,
        prices=lambda project_id: table.over(shipped_table()),
    )
    meta = rows[(P, "a")]["metadata"]
    assert meta["cost"] == pytest.approx(1_000 * 1.0 / M + 0.005)
    assert meta["cost_breakdown"]["parts"]["request"] == pytest.approx(0.005)


def test_a_computed_cost_goes_when_its_price_does_and_unknown_models_get_none() -> None:
    own = PriceTable.from_document(
        {
            "model": [
                {"provider": "acme", "name": "m", "source": "ours",
                 "price": [{"input": 1.0}]}
            ]
        }
    )
    rows: dict[Key, StoredRow] = {}
    ops = [_model("a", {"prompt_tokens": 1_000}, model="m", provider="acme")]
    apply_ops(rows, ops, NOW, prices=lambda project_id: own)
    assert rows[(P, "a")]["metadata"]["cost"] == pytest.approx(0.001)
    # Re-priced (as `costs recompute` does) with the price gone: the cost goes too.
    apply_ops(rows, [Update(P, {"event_id": "a"})], NOW, prices=lambda project_id: shipped_table())
    meta = rows[(P, "a")]["metadata"]
    assert "cost" not in meta and "cost_source" not in meta and "cost_breakdown" not in meta
    assert rollup_metadata(rows[(P, "s")])["cost"] == 0


def test_events_of_other_types_and_model_events_without_tokens_are_not_priced() -> None:
    tool: EventPatch = {
        "event_id": "t",
        "session_id": "s",
        "event_type": "tool",
        "config": {"model": "gpt-4o-mini"},
        "metadata": {"prompt_tokens": 1_000},
    }
    rows = _apply(Upsert(P, tool), _model("a", {"other": 1}))
    assert "cost" not in rows[(P, "t")]["metadata"]
    assert "cost" not in rows[(P, "a")]["metadata"]


def test_a_price_is_taken_from_the_version_in_force_on_the_events_start_day() -> None:
    # gpt-4o: $5 / $15 from 2024-05-13, $2.50 / $10 from 2024-10-02.
    def at(day: datetime) -> float:
        patch = _model("a", {"prompt_tokens": 1_000_000}, model="gpt-4o").patch
        patch["start_time"] = day.timestamp() * 1000
        rows = _apply(Upsert(P, patch))
        cost: float = rows[(P, "a")]["metadata"]["cost"]
        return cost

    assert at(datetime(2024, 9, 1, tzinfo=UTC)) == pytest.approx(5.0)
    assert at(datetime(2024, 11, 1, tzinfo=UTC)) == pytest.approx(2.5)
