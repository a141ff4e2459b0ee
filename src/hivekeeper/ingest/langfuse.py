"""Langfuse's span attributes (`langfuse.*`, SDK v3 to v5) → event fields.

The Langfuse SDK exports OpenTelemetry spans describing its *observations*; `span_mapping`
hands this module every attribute under `langfuse.` (as `(key after "langfuse.", value)`
pairs) after the other conventions have run, so explicit HoneyHive values still win.
`user.id` and `session.id`, which Langfuse shares with other conventions, are mapped
there. The rules:

- `observation.type` sets the event type (`generation`, `embedding` → model; `tool`,
  `retriever` → tool; `span`, `agent`, `chain`, `event`, `evaluator`, `guardrail` →
  chain) and is kept as `metadata.observation_type`;
- `observation.input` / `.output` (JSON): a message list is `inputs.chat_history`, an
  object merges into `inputs` / `outputs`, anything else is their `value`;
- `.model.name` → `config.model`, `.model.parameters` → `config.hyperparameters`,
  `.prompt.name` / `.version` → `config.prompt_name` / `prompt_version`;
- `.usage_details` → the flat token counts (`prompt_tokens`, `cache_read_tokens`, …);
  Langfuse's own keys count each token once, a provider's usage object (OpenAI,
  Anthropic, Gemini) keeps its rules; the object itself stays in
  `metadata.usage_details`;
- `.cost_details` → `metadata.cost` (its `total`, else the sum of its parts): a cost
  the client gave; the object stays in `metadata.cost_details`;
- `.level` → `metadata.level`, `.status_message` → `metadata.status_message` (the SDK
  gives an `ERROR` observation the span status ERROR with that message, which makes
  the event's `error`);
  `.completion_start_time` → `metadata.completion_start_time`; `.metadata.*` →
  `metadata` (values are JSON text since SDK v5);
- `trace.name` is the session's name; `trace.tags` → `metadata.tags`, `trace.metadata.*`
  → `metadata.trace_metadata`; `environment` is the event's `source` unless the span
  names one; `release` and `version` → `metadata`;
- `experiment.*` become HoneyHive's run fields: `id` → `metadata.run_id`, `dataset.id`
  → `metadata.dataset_id`, `item.id` → `metadata.datapoint_id`,
  `item.expected_output` → `feedback.ground_truth`, the rest `metadata.experiment_*`.

Any other `langfuse.` attribute, or a value of the wrong shape, is kept like every
attribute no rule maps (`metadata.langfuse…`, listed as unmapped).
"""

from __future__ import annotations

from typing import Any, Final

from hivekeeper.domain.pricing import normalize_usage
from hivekeeper.domain.pricing.table import TOKEN_CLASSES
from hivekeeper.domain.types import EventPatch, EventType
from hivekeeper.ingest.attributes import (
    EventFields,
    JsonTree,
    Pairs,
    as_number,
    object_at,
    parse_json,
    split_key,
)

FAMILY: Final = "langfuse"
"""The attribute family (first key segment) this module maps."""

_TYPES: dict[str, EventType] = {
    "generation": "model",
    "embedding": "model",
    "tool": "tool",
    "retriever": "tool",
    "span": "chain",
    "agent": "chain",
    "chain": "chain",
    "event": "chain",
    "evaluator": "chain",
    "guardrail": "chain",
}
_METADATA_KEYS = {
    "observation.level": "level",
    "observation.status_message": "status_message",
    "observation.completion_start_time": "completion_start_time",
    "release": "release",
    "version": "version",
    "experiment.id": "run_id",
    "experiment.name": "experiment_name",
    "experiment.description": "experiment_description",
    "experiment.dataset.id": "dataset_id",
    "experiment.item.id": "datapoint_id",
    "experiment.item.version": "datapoint_version",
    "experiment.item.root_observation_id": "experiment_root_observation_id",
}
_CONFIG_KEYS = {
    "observation.model.name": "model",
    "observation.prompt.name": "prompt_name",
    "observation.prompt.version": "prompt_version",
}
_OBJECT_PREFIXES = {
    "observation.metadata": ("metadata", None),
    "trace.metadata": ("metadata", "trace_metadata"),
    "experiment.metadata": ("metadata", "experiment_metadata"),
    "experiment.item.metadata": ("metadata", "datapoint_metadata"),
}
"""Objects sent whole (`…metadata` = JSON) or flattened (`…metadata.<key>` = JSON):
where they go, (namespace, key in it; None: the namespace itself)."""

_EXCLUSIVE_USAGE = {
    "input": "input",
    "output": "output",
    "total": "total",
    "input_cached_tokens": "cache_read",
    "cache_read_input_tokens": "cache_read",
    "input_cache_read": "cache_read",
    "cache_creation_input_tokens": "cache_write",
    "input_cache_creation": "cache_write",
    "input_cache_write": "cache_write",
    "output_reasoning_tokens": "reasoning",
    "output_reasoning": "reasoning",
    "reasoning_tokens": "reasoning",
    "input_audio_tokens": "input_audio",
    "input_audio": "input_audio",
    "output_audio_tokens": "output_audio",
    "output_audio": "output_audio",
}
"""Langfuse's usage keys: each token in one class (the input excludes cached ones)."""
_PROVIDER_USAGE = frozenset(
    {"prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "promptTokenCount"}
)
"""Keys that say a usage object is a provider's own, as its SDK returned it."""
_PART_KEYS = {
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "reasoning": "reasoning_tokens",
    "input_audio": "prompt_audio_tokens",
    "output_audio": "completion_audio_tokens",
}


def map_langfuse(pairs: Pairs, fields: EventFields, patch: EventPatch) -> str | None:
    """Map a span's `langfuse.` attributes into `fields` and `patch` (see the module);
    return the session name they carry (`langfuse.trace.name`), if any.

    Never raises for values of any shape: what it cannot map goes to `fields.unmapped`.
    """
    session_name: str | None = None
    for key, value in pairs:
        if key == "trace.name" and type(value) is str and value:
            session_name = value
        elif not _map_one(key, value, fields, patch):
            fields.unmapped[f"{FAMILY}.{key}"] = value
    return session_name


def _map_one(key: str, value: Any, fields: EventFields, patch: EventPatch) -> bool:
    """Map one attribute; False if no rule takes it (or its value)."""
    if key == "observation.type":
        event_type = _TYPES.get(value) if type(value) is str else None
        if event_type is None:
            return False
        patch["event_type"] = event_type
        fields.put(fields.metadata, "metadata", "observation_type", value)
        return True
    if key in _METADATA_KEYS:
        fields.put(fields.metadata, "metadata", _METADATA_KEYS[key], value)
        return True
    if key in _CONFIG_KEYS:
        fields.put(fields.config, "config", _CONFIG_KEYS[key], value)
        return True
    if key == "environment":
        if type(value) is not str or not value:
            return False
        patch.setdefault("source", value)
        return True
    if key == "observation.input":
        _payload(parse_json(value), fields.inputs, "inputs", fields)
        return True
    if key == "observation.output":
        _payload(parse_json(value), fields.outputs, "outputs", fields)
        return True
    if key == "observation.model.parameters":
        hyper = object_at(fields.config, "hyperparameters")
        fields.put_object(hyper, "config.hyperparameters", value, "model_parameters")
        return True
    if key == "observation.usage_details":
        return _usage(parse_json(value), fields)
    if key == "observation.cost_details":
        return _cost(parse_json(value), fields)
    if key == "trace.tags":
        fields.put(fields.metadata, "metadata", "tags", parse_json(value))
        return True
    if key == "experiment.item.expected_output":
        fields.put(fields.feedback, "feedback", "ground_truth", parse_json(value))
        return True
    return _object_part(key, value, fields)


def _payload(value: Any, target: JsonTree, where: str, fields: EventFields) -> None:
    if type(value) is list and value and all(type(m) is dict and "role" in m for m in value):
        fields.put(target, where, "chat_history", value)
    elif type(value) is dict:
        for key, item in value.items():
            fields.put(target, where, key, item)
    else:
        fields.put(target, where, "value", value)


def _object_part(key: str, value: Any, fields: EventFields) -> bool:
    """`…metadata` (a JSON object) or `…metadata.<path>` (one JSON value) into place."""
    for prefix, (namespace, name) in _OBJECT_PREFIXES.items():
        if key == prefix:
            target = getattr(fields, namespace)
            where = namespace
            if name is not None:
                target, where = object_at(target, name), f"{namespace}.{name}"
            fields.merge_object(target, where, value, "value")
            return True
        if key.startswith(prefix + "."):
            path = list(split_key(key[len(prefix) + 1 :]))
            if name is not None:
                path.insert(0, name)
            node = getattr(fields, namespace)
            for segment in path[:-1]:
                node = object_at(node, segment)
            # Values are JSON text since SDK v5 (so "123" and 123 stay apart).
            fields.put(node, ".".join((namespace, *path[:-1])), path[-1], parse_json(value))
            return True
    return False


def _usage(usage: Any, fields: EventFields) -> bool:
    if type(usage) is not dict:
        return False
    fields.put(fields.metadata, "metadata", "usage_details", usage)
    if _PROVIDER_USAGE.isdisjoint(usage):
        by_class = _exclusive_classes(usage)
        total = by_class.pop("total", None)
    else:
        by_class = _provider_classes(usage)
        total = as_number(usage.get("total_tokens"))
    for name, count in _flat_counts(by_class, total).items():
        fields.put(fields.metadata, "metadata", name, count)
    return True


def _exclusive_classes(usage: JsonTree) -> dict[str, float]:
    """Langfuse's own keys, each token in one class, summed per class."""
    by_class: dict[str, float] = {}
    for key, value in usage.items():
        name = _EXCLUSIVE_USAGE.get(key)
        number = as_number(value)
        if name is not None and number is not None:
            by_class[name] = by_class.get(name, 0) + number
    return by_class


def _provider_classes(usage: JsonTree) -> dict[str, float]:
    """A provider's usage object as its SDK returned it (OpenAI, Anthropic, Gemini),
    read by that provider's rules (`normalize_usage`)."""
    normalized = normalize_usage(usage)
    if normalized is None:
        return {}
    by_class = {name: normalized.count(name) for name in TOKEN_CLASSES}
    by_class["cache_write"] += by_class.pop("cache_write_1h")
    return {name: count for name, count in by_class.items() if count}


def _flat_counts(by_class: dict[str, float], total: float | None) -> dict[str, float]:
    """Token classes → hivekeeper's flat counts: `prompt_tokens` and
    `completion_tokens` include their cached, reasoning and audio parts, as the
    OpenTelemetry GenAI conventions count them."""
    counts = {flat: by_class[name] for name, flat in _PART_KEYS.items() if name in by_class}
    inputs = [
        by_class[c] for c in ("input", "cache_read", "cache_write", "input_audio") if c in by_class
    ]
    outputs = [by_class[c] for c in ("output", "reasoning", "output_audio") if c in by_class]
    if inputs:
        counts["prompt_tokens"] = sum(inputs)
    if outputs:
        counts["completion_tokens"] = sum(outputs)
    if total is not None:
        counts["total_tokens"] = total
    return counts


def _cost(cost: Any, fields: EventFields) -> bool:
    if type(cost) is not dict:
        return False
    fields.put(fields.metadata, "metadata", "cost_details", cost)
    total = as_number(cost.get("total"))
    if total is None:
        parts = [as_number(value) for value in cost.values()]
        numbers = [part for part in parts if part is not None]
        total = sum(numbers) if numbers else None
    if total is not None:
        fields.put(fields.metadata, "metadata", "cost", total)
    return True
