"""Third-party span conventions → event fields: OpenInference, OTel GenAI, Traceloop (spec §7.7).

Runs after the HoneyHive namespaces have filled the event, so an explicit `honeyhive_*`
value always wins. Three rules keep it lossless:

- *aliases* (`gen_ai.usage.input_tokens` for `llm.token_count.prompt`, …) fill one
  *slot*: the best-ranked alias present wins, an alias saying something else is kept
  as an unmapped attribute, one saying the same is consumed;
- a value whose place an explicit value already holds goes to `shadowed`, under the
  dotted path it would have had (`config.model`);
- when several conventions carry the same messages or tools, the first (OpenInference,
  then GenAI, then Traceloop) is mapped and the others are kept as unmapped attributes.

Messages live in `messages`; this module maps everything else.
"""

from __future__ import annotations

from typing import Any

from hivekeeper.domain.types import EventType
from hivekeeper.ingest.attributes import (
    EventFields,
    JsonTree,
    Pairs,
    as_number,
    indexed,
    object_at,
    parse_json,
)
from hivekeeper.ingest.messages import MESSAGE_KEYS, map_messages
from hivekeeper.ingest.spans import Attributes, SpanEvent

FAMILIES: dict[str, dict[str, str]] = {
    "llm": {
        "input_messages": "llm.input_messages",
        "output_messages": "llm.output_messages",
        "prompts": "llm.prompts",
        "completions": "llm.completions",
        "tools": "llm.tools",
        "request": "llm.request",
    },
    "gen_ai": {
        "prompt": "gen_ai.prompt",
        "completion": "gen_ai.completion",
        "request": "gen_ai.request",
    },
    "retrieval": {"documents": "retrieval.documents"},
}
"""Flattened families, by first and second key segment: `llm.input_messages.0.message.role`
is suffix `0.message.role` of family `llm.input_messages`. Exact keys are matched first,
so `gen_ai.request.model` is not part of the `gen_ai.request` family."""

Slot = tuple[str, str]
"""Where an alias group goes: (`config`, `inputs`, `outputs`, `metadata`,
`user_properties` or `hyperparameters`, key in it)."""

_RESPONSE_MODELS = ("gen_ai.response.model", "llm.response.model", "llm.response.model_name")
_REQUEST_MODELS = ("gen_ai.request.model", "llm.request.model", "llm.request.model_name")
# OpenInference's `llm.model_name` is what the provider answered with, so it ranks
# between response and request models; an embedding model is the last resort.
_MODELS = (*_RESPONSE_MODELS, "llm.model_name", *_REQUEST_MODELS, "embedding.model_name")

_ALIASES: tuple[tuple[Slot, tuple[str, ...]], ...] = (
    (("config", "model"), _MODELS),
    (("config", "response_model"), _RESPONSE_MODELS),
    (("config", "request_model"), _REQUEST_MODELS),
    (
        ("config", "provider"),
        ("gen_ai.provider.name", "llm.provider", "gen_ai.system", "llm.system"),
    ),
    (("config", "template"), ("llm.prompt_template.template", "traceloop.prompt.template")),
    (
        ("config", "template_version"),
        ("llm.prompt_template.version", "traceloop.prompt.version"),
    ),
    (("hyperparameters", "is_streaming"), ("gen_ai.is_streaming", "llm.is_streaming")),
    (("hyperparameters", "frequency_penalty"), ("llm.frequency_penalty",)),
    (("hyperparameters", "presence_penalty"), ("llm.presence_penalty",)),
    (("hyperparameters", "top_k"), ("llm.top_k",)),
    (("hyperparameters", "stop_sequences"), ("llm.chat.stop_sequences",)),
    (("inputs", "tool_name"), ("tool.name", "gen_ai.tool.name")),
    (("inputs", "tool_description"), ("tool.description", "gen_ai.tool.description")),
    (("inputs", "tool_parameters"), ("tool.parameters",)),
    (("inputs", "tool_type"), ("gen_ai.tool.type",)),
    (("inputs", "tool_call_id"), ("gen_ai.tool.call.id",)),
    (("inputs", "arguments"), ("gen_ai.tool.call.arguments",)),
    (("outputs", "result"), ("gen_ai.tool.call.result",)),
    (("metadata", "response_id"), ("gen_ai.response.id",)),
    (("metadata", "finish_reasons"), ("gen_ai.response.finish_reasons",)),
    (("metadata", "finish_reason"), ("llm.finish_reason",)),
    (("metadata", "system_fingerprint"), ("gen_ai.openai.response.system_fingerprint",)),
    (("metadata", "tags"), ("tag.tags",)),
    (("metadata", "agent_name"), ("agent.name", "gen_ai.agent.name")),
    (
        ("user_properties", "user_id"),
        ("user.id", "gen_ai.user", "traceloop.association.properties.user_id"),
    ),
)
_USAGE: tuple[tuple[Slot, tuple[str, ...]], ...] = (
    (
        ("metadata", "prompt_tokens"),
        (
            "llm.token_count.prompt",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.usage.prompt_tokens",
        ),
    ),
    (
        ("metadata", "completion_tokens"),
        (
            "llm.token_count.completion",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.usage.completion_tokens",
        ),
    ),
    (
        ("metadata", "total_tokens"),
        ("llm.token_count.total", "gen_ai.usage.total_tokens", "llm.usage.total_tokens"),
    ),
    (("metadata", "cost"), ("llm.cost.total", "gen_ai.usage.cost")),
    (("metadata", "prompt_cost"), ("llm.cost.prompt",)),
    (("metadata", "completion_cost"), ("llm.cost.completion",)),
    (
        ("metadata", "cache_read_tokens"),
        (
            "llm.token_count.prompt_details.cache_read",
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
        ),
    ),
    (
        ("metadata", "cache_write_tokens"),
        (
            "llm.token_count.prompt_details.cache_write",
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
        ),
    ),
    (("metadata", "prompt_audio_tokens"), ("llm.token_count.prompt_details.audio",)),
    (
        ("metadata", "reasoning_tokens"),
        ("llm.token_count.completion_details.reasoning", "gen_ai.usage.reasoning_tokens"),
    ),
    (("metadata", "completion_audio_tokens"), ("llm.token_count.completion_details.audio",)),
)
_SlotPlan = tuple[tuple[Slot, bool, tuple[str, ...]], ...]
_SLOTS: _SlotPlan = (
    *((slot, False, aliases) for slot, aliases in _ALIASES),
    *((slot, True, aliases) for slot, aliases in _USAGE),
)
"""Every slot, whether it holds a number, and its aliases in order of preference."""
_ALIAS_KEYS = frozenset(key for _, _, aliases in _SLOTS for key in aliases)

_PLANS: dict[tuple[str, ...], _SlotPlan] = {}
"""Slot plans by the exact convention keys of a span, in order.

Spans from one instrumentation carry the same keys span after span, so the plan (which
slots to fill from which aliases present) is computed once per key set. Bounded: keys
come from clients, so past `_MAX_PLANS` key sets, plans are computed and not kept.
"""
_MAX_PLANS = 1024
_TEMPLATE_VARIABLES = ("llm.prompt_template.variables", "traceloop.prompt.template_variables")

CONVENTION_KEYS: frozenset[str] = frozenset(
    {
        *_ALIAS_KEYS,
        *_TEMPLATE_VARIABLES,
        *MESSAGE_KEYS,
        "llm.invocation_parameters",
        "gen_ai.tool.definitions",
        "metadata",
    }
)
"""Exact attribute keys this module maps."""

_OPERATION_TYPES: dict[str, EventType] = {
    "chat": "model",
    "text_completion": "model",
    "generate_content": "model",
    "embeddings": "model",
    "invoke_agent": "chain",
    "create_agent": "chain",
    "invoke_workflow": "chain",
    "execute_tool": "tool",
    "retrieval": "tool",
}
_OPENINFERENCE_TYPES: dict[str, EventType] = {"LLM": "model", "CHAIN": "chain", "AGENT": "chain"}
_TRACELOOP_TYPES: dict[str, EventType] = {
    "workflow": "chain",
    "agent": "chain",
    "task": "chain",
    "tool": "tool",
}
_MODEL_KEYS = (*_RESPONSE_MODELS, "llm.model_name", *_REQUEST_MODELS)


def infer_event_type(attributes: Attributes) -> EventType | None:
    """The event type third-party attributes imply (spec §7.4 step 2), if any.

    The kind attributes it reads (`gen_ai.operation.name`, `openinference.span.kind`,
    `traceloop.span.kind`, `llm.request.type`) are not consumed: the finer kind they
    name (`RETRIEVER`, `execute_tool`) stays in metadata as an unmapped attribute.
    """
    operation = attributes.get("gen_ai.operation.name")
    if type(operation) is str and operation.lower() in _OPERATION_TYPES:
        return _OPERATION_TYPES[operation.lower()]
    kind = attributes.get("openinference.span.kind")
    if type(kind) is str and kind:
        return _OPENINFERENCE_TYPES.get(kind.upper(), "tool")
    kind = attributes.get("traceloop.span.kind")
    if type(kind) is str and kind.lower() in _TRACELOOP_TYPES:
        return _TRACELOOP_TYPES[kind.lower()]
    if "llm.request.type" in attributes:
        return "model"
    if any(key in attributes for key in _MODEL_KEYS):
        return "model"
    return None


def apply_conventions(
    found: dict[str, Any],
    families: dict[str, Pairs],
    events: list[SpanEvent],
    fields: EventFields,
) -> list[SpanEvent]:
    """Map the convention attributes `found` (exact keys) and `families` into `fields`.

    Returns the span events no rule used. Every family left unused is moved to
    `fields.unmapped`. Never raises for JSON attribute values of any shape.
    """
    _fill_slots(found, fields)
    _map_hyperparameters(found, families, fields)
    _map_tools(found, families, fields)
    _map_template_variables(found, fields)
    events = map_messages(found, families, events, fields)
    documents = families.pop("retrieval.documents", None)
    if documents is not None:
        fields.put(fields.outputs, "outputs", "documents", indexed(documents, "document"))
    extra = found.get("metadata")
    if extra is not None:
        fields.merge_object(fields.metadata, "metadata", extra, "metadata")
    for family, pairs in families.items():
        fields.release(family, pairs)
    return events


def _fill_slots(found: dict[str, Any], fields: EventFields) -> None:
    """Put the best alias of every slot; keep disagreeing aliases as unmapped."""
    keys = tuple(found)
    plan = _PLANS.get(keys)
    if plan is None:
        plan = _slot_plan(found)
        if len(_PLANS) < _MAX_PLANS:
            _PLANS[keys] = plan
    used: set[str] = set()
    losers: list[tuple[str, Any]] = []
    for slot, numeric, aliases in plan:
        chosen: Any = None
        for key in aliases:
            value = found[key]
            mapped = as_number(value) if numeric else value
            if chosen is None and mapped is not None:
                chosen = mapped
                used.add(key)
            elif mapped is None or mapped != chosen:
                losers.append((key, value))
        if chosen is not None:
            target, name = slot
            if target == "hyperparameters":
                hyper = object_at(fields.config, "hyperparameters")
                fields.put(hyper, "config.hyperparameters", name, chosen)
            else:
                fields.put(getattr(fields, target), target, name, chosen)
    for key, value in losers:
        if key not in used:  # a request model that lost `model` still won `request_model`
            fields.unmapped[key] = value


def _slot_plan(found: dict[str, Any]) -> _SlotPlan:
    present = _ALIAS_KEYS.intersection(found)
    return tuple(
        (slot, numeric, tuple(key for key in aliases if key in present))
        for slot, numeric, aliases in _SLOTS
        if not present.isdisjoint(aliases)
    )


def _map_hyperparameters(
    found: dict[str, Any], families: dict[str, Pairs], fields: EventFields
) -> None:
    requested = families.pop("gen_ai.request", None)
    invocation = found.get("llm.invocation_parameters")
    if requested is None and invocation is None:
        return
    hyper = object_at(fields.config, "hyperparameters")
    where = "config.hyperparameters"
    for suffix, value in requested or ():
        fields.put(hyper, where, suffix.replace(".", "_"), value)
    if invocation is not None:
        parsed = parse_json(invocation)
        if type(parsed) is dict:
            invocation = _request_settings(parsed, fields)
        fields.put_object(hyper, where, invocation, "invocation_parameters")


# What OpenInference's `llm.invocation_parameters` holds besides sampling settings:
# the request's model and streaming switches, which are no hyperparameters.
_INVOCATION_MODEL = "model"
_INVOCATION_METADATA = ("stream", "stream_options")


def _request_settings(invocation: JsonTree, fields: EventFields) -> JsonTree:
    """`invocation` without the request's model (→ `config.request_model`, and
    `config.model` when no response named one: an error span's only model) and its
    streaming switches (→ `metadata`)."""
    rest = dict(invocation)
    model = rest.pop(_INVOCATION_MODEL, None)
    if model is not None:
        if fields.config.get("model") is None:
            fields.config["model"] = model
        fields.put(fields.config, "config", "request_model", model)
    for key in _INVOCATION_METADATA:
        value = rest.pop(key, None)
        if value is not None:
            fields.put(fields.metadata, "metadata", key, value)
    return rest


def _map_tools(found: dict[str, Any], families: dict[str, Pairs], fields: EventFields) -> None:
    """`config.tools` from OpenInference, else GenAI, else Traceloop definitions."""
    tools: list[Any] | None = None
    openinference = families.pop("llm.tools", None)
    if openinference is not None:
        tools = [_openinference_tool(item) for item in indexed(openinference, "tool")]
    definitions = found.get("gen_ai.tool.definitions")
    if definitions is not None:
        if tools is None:
            parsed = parse_json(definitions)
            tools = parsed if type(parsed) is list else [parsed]
        else:
            fields.unmapped["gen_ai.tool.definitions"] = definitions
    request = families.pop("llm.request", None)
    if request is not None:
        prefix = "functions."
        functions = [(s[len(prefix) :], v) for s, v in request if s.startswith(prefix)]
        fields.release("llm.request", [(s, v) for s, v in request if not s.startswith(prefix)])
        if functions and tools is None:
            tools = [_traceloop_function(item) for item in indexed(functions)]
        elif functions:
            fields.release("llm.request.functions", functions)
    if tools is not None:
        fields.put(fields.config, "config", "tools", tools)


def _openinference_tool(tool: JsonTree) -> Any:
    if "json_schema" in tool:
        # Parsed so that `config.tools` holds objects whichever convention sent them.
        schema = parse_json(tool["json_schema"])
        return schema if len(tool) == 1 else {**tool, "json_schema": schema}
    return tool


def _traceloop_function(item: JsonTree) -> JsonTree:
    if "parameters" in item:
        return {**item, "parameters": parse_json(item["parameters"])}
    return item


def _map_template_variables(found: dict[str, Any], fields: EventFields) -> None:
    """Prompt template variables are the event's inputs (spec §7.7)."""
    for key in _TEMPLATE_VARIABLES:
        variables = found.get(key)
        if variables is not None:
            fields.put_object(fields.inputs, "inputs", variables, "template_variables")


def fill_totals(metadata: JsonTree) -> None:
    """Spec §7.7: `total_tokens` and `cost`, when missing, are the sums of their parts
    (those present), whichever rule or namespace set the parts."""
    _fill_sum(metadata, "total_tokens", "prompt_tokens", "completion_tokens")
    _fill_sum(metadata, "cost", "prompt_cost", "completion_cost")


def _fill_sum(metadata: JsonTree, total: str, first: str, second: str) -> None:
    if metadata.get(total) is not None:
        return
    parts = [as_number(metadata.get(first)), as_number(metadata.get(second))]
    present = [part for part in parts if part is not None]
    if present:
        metadata[total] = sum(present)
