"""Messages that arrive apart from their event, kept in ordered slots, and the chat
history rebuilt from them.

GenAI instrumentations send an LLM call's messages as OTLP log records, one record per
message (or one for the whole call), each naming its span: they reach the span's event
in several writes, in any order, before or after the span itself. The merge rule merges
one level deep and `inputs.chat_history` is a list, so each write would replace the
last. Instead each record is a *slot* in `metadata.otel_log_records`, keyed so that the
keys sort in the records' order (`slot_key`: log time, then position in its export),
and that object merges key by key like a namespace (`merge_fields`). After every write
to an event holding slots, `rebuild_from_slots` derives `inputs.chat_history` and the
output message from all of them, so the stored event is the same whatever order its
parts came in.

This runs in the merge step rather than at read time so that every engine stores the
rebuilt messages: filters, full-text search, exports and the UI read them like any
other event's. The price is that messages arriving this way are stored twice (in their
slot and in the history).
"""

from __future__ import annotations

from typing import Any

from hivekeeper.domain.types import JsonObject, StoredRow

SLOTS_KEY = "otel_log_records"
"""The `metadata` key holding an event's slots: an object merged key by key."""


def slot_key(time_unix_nano: int, index: int, digest: str) -> str:
    """The key of one record's slot: sorts by time, then by `index` (the record's place
    in its export); `digest` (of its content) keeps records of two exports that share
    a time and an index apart, and makes a re-sent record land on its own slot."""
    return f"{time_unix_nano:020d}.{index:06d}.{digest}"


def merge_slots(base: JsonObject, patch: JsonObject, merged: JsonObject) -> None:
    """Complete `merged` (the metadata `base` and `patch` merged one level deep): their
    slots merge key by key rather than the patch's replacing the stored ones."""
    old, new = base.get(SLOTS_KEY), patch.get(SLOTS_KEY)
    if type(old) is dict and type(new) is dict:
        merged[SLOTS_KEY] = {**old, **new}


def rebuild_from_slots(row: StoredRow) -> None:
    """Set the messages of `row` (a stored row, changed in place) from its slots.

    Each slot may hold `inputs` (messages, in order) and `outputs` (output messages,
    in order). `inputs.chat_history` becomes all slots' inputs in key order; the first
    output message's keys are set on `outputs`, and `outputs.choices` holds them all
    when there are several. The keys this owns (`chat_history`, every key an output
    message of a slot has, `choices`) are set from the slots alone, so the result does
    not depend on which write came last; other keys of `inputs` and `outputs` are left
    alone. A row without slots is untouched.
    """
    slots = row["metadata"].get(SLOTS_KEY)
    if type(slots) is not dict or not slots:
        return
    history: list[Any] = []
    choices: list[Any] = []
    for key in sorted(slots):
        slot = slots[key]
        if type(slot) is not dict:
            continue
        inputs, outputs = slot.get("inputs"), slot.get("outputs")
        if type(inputs) is list:
            history.extend(inputs)
        if type(outputs) is list:
            choices.extend(outputs)
    if history:
        row["inputs"] = {**row["inputs"], "chat_history": history}
    if choices:
        first = choices[0] if type(choices[0]) is dict else {"content": choices[0]}
        owned = {"choices", *first, *(k for c in choices if type(c) is dict for k in c)}
        out = {k: v for k, v in row["outputs"].items() if k not in owned}
        out.update(first)
        if len(choices) > 1:
            out["choices"] = choices
        row["outputs"] = out
