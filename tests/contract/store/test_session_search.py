"""`search_session`: the events of one session whose name, inputs, outputs or metadata
hold a text, on every store (the session page's search)."""

from __future__ import annotations

from hivekeeper.domain.types import EventPatch, Upsert
from hivekeeper.store import Store

NOW = 1_800_000_000_000.0


def _event(event_id: str, session_id: str, start: float, **more: object) -> EventPatch:
    patch: EventPatch = {"event_id": event_id, "session_id": session_id, "event_type": "tool",
                         "start_time": NOW + start}  # fmt: skip
    patch.update(more)  # type: ignore[typeddict-item]  # test data
    return patch


def test_search_finds_names_inputs_outputs_and_metadata_in_one_session(
    store: Store, project: str
) -> None:
    store.write_batch(
        [
            Upsert(project, _event("by-name", "s", 1, event_name="Fetch_Weather")),
            Upsert(project, _event("by-input", "s", 2, inputs={"city": "weather in Oslo"})),
            Upsert(project, _event("by-output", "s", 3, outputs={"text": "WEATHER: rain"})),
            Upsert(project, _event("by-meta", "s", 4, metadata={"topic": "weather"})),
            Upsert(project, _event("none", "s", 5, event_name="other", inputs={"x": 1})),
            Upsert(project, _event("elsewhere", "t", 1, event_name="weather")),
        ],
        NOW,
    )
    found = store.search_session(project, "s", "weather")
    assert found == ["by-name", "by-input", "by-output", "by-meta"]  # by start time
    assert store.search_session(project, "s", "nothing like it") == []
    assert store.search_session("another-project", "s", "weather") == []
