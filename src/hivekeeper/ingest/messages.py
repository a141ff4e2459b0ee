"""LLM messages of any convention → `inputs.chat_history` and `outputs` (spec §7.7).

OpenInference (`llm.input_messages.N.message.*`), OTel GenAI (`gen_ai.input.messages`
JSON, `gen_ai.system_instructions`, and the older `gen_ai.*.message`/`gen_ai.choice`
span events) and Traceloop (`gen_ai.prompt.N.*`, `llm.prompts.N.*`) all become
`[{role, content, tool_calls?, …}]`, tool calls in OpenAI's shape. When several carry
messages the first in that order is used and the others are kept as unmapped
attributes (or unused span events).
"""

from __future__ import annotations

from typing import Any

from hivekeeper.ingest.attributes import (
    EventFields,
    JsonTree,
    Pairs,
    as_list,
    indexed,
    parse_json,
    rebuild_object,
)
from hivekeeper.ingest.spans import SpanEvent

RAW_INPUTS = ("input.value", "traceloop.entity.input")
RAW_OUTPUTS = ("output.value", "traceloop.entity.output")
MESSAGE_KEYS = frozenset(
    {
        *RAW_INPUTS,
        *RAW_OUTPUTS,
        "input.mime_type",
        "output.mime_type",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
    }
)
"""Exact attribute keys `map_messages` reads."""

_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
_NEEDS_WORK = frozenset({"message", "contents", "parts", "tool_calls"})
_TEXT_PART_TYPES = frozenset({None, "text", "input_text", "output_text"})


def map_messages(
    found: dict[str, Any],
    families: dict[str, Pairs],
    events: list[SpanEvent],
    fields: EventFields,
) -> list[SpanEvent]:
    """Set `inputs.chat_history` and `outputs` from the first convention with messages.

    The raw payloads (`input.value`, `traceloop.entity.input`, and the outputs alike)
    become `inputs.value`/`outputs.value` when no messages were found; beside
    structured messages they are kept as unmapped attributes. Pops the message
    families it reads; returns the span events it did not use.
    """
    history = _family_messages(families, ("llm.input_messages",), None, None, fields)
    instructions = found.get("gen_ai.system_instructions")
    messages = found.get("gen_ai.input.messages")
    if instructions is not None or messages is not None:
        if history is None:
            history = _genai_input(instructions, messages)
        else:
            _keep("gen_ai.system_instructions", instructions, fields)
            _keep("gen_ai.input.messages", messages, fields)
    history = _family_messages(families, ("gen_ai.prompt", "llm.prompts"), history, None, fields)

    answers = _family_messages(families, ("llm.output_messages",), None, "assistant", fields)
    messages = found.get("gen_ai.output.messages")
    if messages is not None:
        if answers is None:
            answers = [_message(item, "assistant") for item in as_list(parse_json(messages))]
        else:
            _keep("gen_ai.output.messages", messages, fields)
    answers = _family_messages(
        families, ("gen_ai.completion", "llm.completions"), answers, "assistant", fields
    )

    if events and (history is None or answers is None):
        events, from_events, answered = _event_messages(
            events, fields, inputs=history is None, outputs=answers is None
        )
        history = history if history is not None else from_events
        answers = answers if answers is not None else answered
    if history is not None:
        fields.put(fields.inputs, "inputs", "chat_history", history)
    if answers:
        for key, value in answers[0].items():
            fields.put(fields.outputs, "outputs", key, value)
        if len(answers) > 1:
            fields.put(fields.outputs, "outputs", "choices", answers)
    _map_raw(found, RAW_INPUTS, "input.mime_type", fields.inputs, "inputs", history, fields)
    _map_raw(found, RAW_OUTPUTS, "output.mime_type", fields.outputs, "outputs", answers, fields)
    return events


CHOICE_EVENT = "gen_ai.choice"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
MESSAGE_EVENTS = frozenset({*_EVENT_ROLES, CHOICE_EVENT, DETAILS_EVENT})
"""Names of the GenAI events (span events or log records) that carry messages."""
DETAILS_MESSAGE_KEYS = (
    "gen_ai.system_instructions",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
)
"""The attributes of a `DETAILS_EVENT` that hold its messages."""


def record_messages(
    name: str, body: Any, attributes: dict[str, Any]
) -> tuple[list[JsonTree], list[JsonTree]]:
    """The (input, output) messages a GenAI log record named `name` carries.

    The older events (`gen_ai.user.message`, …, `gen_ai.choice`) carry one message in
    their body; `DETAILS_EVENT` carries the whole call in its `DETAILS_MESSAGE_KEYS`
    attributes. An output message keeps its choice `index`. Records of other names
    carry none.
    """
    role = _EVENT_ROLES.get(name)
    if role is not None:
        tree = dict(body) if type(body) is dict else {} if body is None else {"content": body}
        if role == "tool" and "id" in tree:
            tree["tool_call_id"] = tree.pop("id")
        return [_message(tree, role)], []
    if name == CHOICE_EVENT:
        tree = dict(body) if type(body) is dict else {"content": body}
        if "message" in tree:
            tree["message"] = parse_json(tree["message"])
        return [], [_message(tree, "assistant")]
    if name != DETAILS_EVENT:
        return [], []
    instructions, messages, answers = (attributes.get(key) for key in DETAILS_MESSAGE_KEYS)
    history = _genai_input(instructions, messages) if instructions or messages else []
    if answers is None:
        return history, []
    return history, [_message(item, "assistant") for item in as_list(parse_json(answers))]


def _message(raw: Any, role: str | None = None) -> JsonTree:
    """One message of any convention as `{role, content, tool_calls?, …}`.

    OpenInference wraps it in `message` and splits content into `contents`; GenAI puts
    text and tool calls in `parts`; Traceloop is already flat. Text parts are joined
    into `content`; other parts stay in `parts`; other keys are kept as they are.
    `role` is the default role.
    """
    if type(raw) is not dict:
        return {"role": role, "content": raw} if role else {"content": raw}
    if not _NEEDS_WORK.intersection(raw):  # plain `{role, content}`: nothing to rebuild
        if role is not None and "role" not in raw:
            return {"role": role, **raw}
        return raw
    inner = raw.get("message")
    if type(inner) is dict:
        raw = {**{k: v for k, v in raw.items() if k != "message"}, **inner}
    out: JsonTree = {}
    texts: list[str] = []
    parts: list[Any] = []
    calls: list[Any] = []
    for key, value in raw.items():
        if key == "contents" or key == "parts":
            for part in as_list(parse_json(value)):
                _add_part(part, texts, parts, calls, out)
        elif key == "tool_calls":
            calls.extend(_tool_call(call) for call in as_list(parse_json(value)))
        else:
            out[key] = value
    if role is not None:
        out.setdefault("role", role)
    if texts:
        if "content" in out:
            parts[:0] = [{"type": "text", "text": text} for text in texts]
        else:
            out["content"] = "\n".join(texts)
    if parts:
        out["parts"] = parts
    if calls:
        out["tool_calls"] = calls
    return out


def _tool_call(raw: Any) -> Any:
    """A tool call in OpenAI's shape: `{id, type: function, function: {name, arguments}}`."""
    if type(raw) is not dict:
        return raw
    call = raw.get("tool_call", raw)  # OpenInference wraps each call
    if type(call) is not dict:
        return raw
    function = call.get("function")
    if type(function) is not dict:
        function = {k: call[k] for k in ("name", "arguments") if k in call}
    out = {k: v for k, v in call.items() if k not in ("function", "name", "arguments")}
    if out.get("type") in (None, "tool_call"):
        out["type"] = "function"
    out["function"] = function
    return out


def _keep(key: str, value: Any, fields: EventFields) -> None:
    if value is not None:
        fields.unmapped[key] = value


def _family_messages(
    families: dict[str, Pairs],
    names: tuple[str, ...],
    chosen: list[JsonTree] | None,
    role: str | None,
    fields: EventFields,
) -> list[JsonTree] | None:
    """Messages of the first of `names` present, unless `chosen` already holds some."""
    for name in names:
        pairs = families.pop(name, None)
        if pairs is None:
            continue
        if chosen is None:
            chosen = [_message(item, role) for item in indexed(pairs, "message")]
        else:
            fields.release(name, pairs)
    return chosen


def _genai_input(instructions: Any, messages: Any) -> list[JsonTree]:
    """The system instructions, then the input messages. Instructions the messages
    already hold as a system turn (openlit sends both) are not repeated."""
    history: list[JsonTree] = []
    if messages is not None:
        history.extend(_message(item) for item in as_list(parse_json(messages)))
    if instructions is not None:
        parsed = parse_json(instructions)
        if type(parsed) is list:
            system = _message({"role": "system", "parts": parsed})
        else:
            system = {"role": "system", "content": parsed}
        if not any(_same_system_turn(system, item) for item in history):
            history.insert(0, system)
    return history


def _same_system_turn(system: JsonTree, item: Any) -> bool:
    return (
        type(item) is dict
        and item.get("role") == "system"
        and item.get("content") == system.get("content")
        and item.get("parts") == system.get("parts")
    )


def _add_part(
    part: Any, texts: list[str], parts: list[Any], calls: list[Any], out: JsonTree
) -> None:
    if type(part) is not dict:
        (texts if type(part) is str else parts).append(part)
        return
    part = part.get("message_content", part)  # OpenInference wraps each content part
    if type(part) is not dict:
        parts.append(part)
        return
    kind = part.get("type")
    text = part.get("text", part.get("content"))
    if kind in _TEXT_PART_TYPES and type(text) is str:
        texts.append(text)
    elif kind == "tool_call":
        calls.append(_tool_call(part))
    elif kind == "tool_call_response":
        if part.get("id") is not None:
            out.setdefault("tool_call_id", part["id"])
        response = part.get("response", part.get("result"))
        if type(response) is str:
            texts.append(response)
        else:
            parts.append(part)
    else:
        parts.append(part)


def _event_messages(
    events: list[SpanEvent], fields: EventFields, *, inputs: bool, outputs: bool
) -> tuple[list[SpanEvent], list[JsonTree] | None, list[JsonTree] | None]:
    """Messages from the older GenAI span events, for the directions still missing.

    Returns the events left unused, the input history and the output choices.
    """
    rest: list[SpanEvent] = []
    history: list[JsonTree] = []
    choices: list[tuple[int, JsonTree]] = []
    for event in events:
        name, attributes = event.name, event.attributes
        role = _EVENT_ROLES.get(name)
        if role is not None and inputs:
            history.append(_event_message(event, role, fields))
        elif name == "gen_ai.content.prompt" and inputs and "gen_ai.prompt" in attributes:
            prompt = parse_json(attributes["gen_ai.prompt"])
            history.extend(_message(item) for item in as_list(prompt))
        elif name == "gen_ai.choice" and outputs:
            choice = _event_message(event, "assistant", fields)
            index = choice.pop("index", None)
            choices.append((index if type(index) is int else len(choices), choice))
        elif name == "gen_ai.content.completion" and outputs and "gen_ai.completion" in attributes:
            completion = parse_json(attributes["gen_ai.completion"])
            for item in as_list(completion):
                choices.append((len(choices), _message(item, "assistant")))
        else:
            rest.append(event)
    choices.sort(key=lambda pair: pair[0])
    return rest, history or None, [choice for _, choice in choices] or None


def _event_message(event: SpanEvent, role: str, fields: EventFields) -> JsonTree:
    attributes = event.attributes
    system = attributes.get("gen_ai.system")
    if system is not None:
        fields.put(fields.config, "config", "provider", system)
    tree = rebuild_object((k, v) for k, v in attributes.items() if k != "gen_ai.system")
    if "message" in tree:
        tree["message"] = parse_json(tree["message"])
    if role == "tool" and "id" in tree:
        tree["tool_call_id"] = tree.pop("id")
    return _message(tree, role)


def _map_raw(
    found: dict[str, Any],
    keys: tuple[str, str],
    mime_key: str,
    target: JsonTree,
    where: str,
    messages: list[JsonTree] | None,
    fields: EventFields,
) -> None:
    """`input.value`-like payloads: `value` of the field, unless messages say it better."""
    mime = found.get(mime_key)
    openinference, traceloop = found.get(keys[0]), found.get(keys[1])
    if messages is not None or (openinference is None and traceloop is None):
        unmapped = fields.unmapped
        if openinference is not None:
            unmapped[keys[0]] = openinference
        if traceloop is not None:
            unmapped[keys[1]] = traceloop
        if mime is not None:
            unmapped[mime_key] = mime
        return
    if openinference is not None:
        is_json = type(mime) is str and "json" in mime.lower()
        fields.put(target, where, "value", parse_json(openinference) if is_json else openinference)
        _keep(keys[1], traceloop, fields)
    else:
        # Traceloop's entity payloads are always JSON text.
        fields.put(target, where, "value", parse_json(traceloop))
        _keep(mime_key, mime, fields)
