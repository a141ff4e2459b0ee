"""Request-body and query-parameter schemas for our OpenAPI document.

Routes parse bodies and query strings themselves (the HoneyHive wire format is liberal:
objects or JSON strings, several spellings of the same flag), so the schemas are
declared here for `/docs` rather than inferred from parameter types.
"""

from __future__ import annotations

from typing import Any

from hivekeeper.domain.charts import AGGREGATIONS, BUCKETS
from hivekeeper.domain.evaluation.aggregates import AGGREGATE_FUNCTIONS
from hivekeeper.domain.evaluation.configurations import CONFIG_TYPES, ENVS
from hivekeeper.domain.evaluation.evaluators import METRIC_TYPES, RETURN_TYPES
from hivekeeper.domain.evaluation.runs import MAX_RUN_LIMIT, RUN_SORTS, RUN_STATUSES
from hivekeeper.domain.filters import FILTER_TYPES, MAX_LIMIT, MAX_PAGE, OPERATORS, SORT_KEYS
from hivekeeper.domain.types import EVENT_TYPES

_OBJECT = {"type": "object", "additionalProperties": True}
_TIME = {"type": "number", "description": "Unix epoch milliseconds (fractions allowed)"}
_EVENT_FIELDS: dict[str, Any] = {
    "event_id": {"type": "string", "description": "Generated when absent"},
    "session_id": {"type": "string", "description": "A new session is created when absent"},
    "parent_id": {"type": "string", "description": "Defaults to session_id"},
    "event_type": {"type": "string", "enum": sorted(EVENT_TYPES)},
    "event_name": {"type": "string"},
    "source": {"type": "string"},
    "config": _OBJECT,
    "inputs": _OBJECT,
    "outputs": _OBJECT,
    "metadata": _OBJECT,
    "metrics": _OBJECT,
    "feedback": _OBJECT,
    "user_properties": _OBJECT,
    "error": {"type": "string", "nullable": True},
    "start_time": _TIME,
    "end_time": _TIME,
    "duration": {"type": "number", "description": "Milliseconds"},
    "children_ids": {"type": "array", "items": {"type": "string"}},
}
_SESSION = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "session_id": {"type": "string", "description": "Honoured when given"},
        "session_name": {"type": "string"},
        **{k: v for k, v in _EVENT_FIELDS.items() if k not in ("event_type", "parent_id")},
    },
}
_EVENT = {
    "type": "object",
    "additionalProperties": True,
    "required": ["event_type"],
    "properties": _EVENT_FIELDS,
}
_FILTER = {
    "type": "object",
    "required": ["field", "operator"],
    "properties": {
        "field": {"type": "string", "example": "metadata.cost"},
        "operator": {"type": "string", "enum": list(OPERATORS)},
        "value": {},
        "type": {"type": "string", "enum": list(FILTER_TYPES)},
    },
}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 1000}
_PAGE = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}
_IDS = {"type": "array", "items": {"type": "string"}}
_RUN_FIELDS: dict[str, Any] = {
    "name": {"type": "string"},
    "description": {"type": "string"},
    "status": {"type": "string", "enum": list(RUN_STATUSES)},
    "metadata": _OBJECT,
    "results": _OBJECT,
    "configuration": _OBJECT,
    "passing_ranges": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
        },
    },
    "evaluators": {"type": "array", "items": {}},
    "event_ids": {**_IDS, "description": "The run's sessions (merged on update)"},
    "session_ids": {**_IDS, "description": "Same as event_ids"},
    "datapoint_ids": _IDS,
}
_BATCH_FLAGS = {
    "is_single_session": {"type": "boolean"},
    "session_properties": _SESSION,
}
SCHEMAS: dict[str, Any] = {
    "SessionStart": _SESSION,
    "SessionStartEnvelope": {
        "type": "object",
        "properties": {"session": {"oneOf": [_SESSION, {"type": "string"}]}},
    },
    "EventEnvelope": {
        "oneOf": [
            {"type": "object", "properties": {"event": {"oneOf": [_EVENT, {"type": "string"}]}}},
            _EVENT,
        ]
    },
    "EventBatch": {
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": _EVENT}, **_BATCH_FLAGS},
    },
    "ModelEvent": {
        "type": "object",
        "properties": {"model_event": {"type": "object", "additionalProperties": True}},
    },
    "ModelEventBatch": {
        "type": "object",
        "properties": {"model_events": {"type": "array", "items": _OBJECT}, **_BATCH_FLAGS},
    },
    "EventUpdate": {
        "type": "object",
        "required": ["event_id"],
        "properties": {"event_id": {"type": "string"}, **_EVENT_FIELDS},
    },
    "EventFields": {"type": "object", "properties": _EVENT_FIELDS},
    "RunCreate": {
        "type": "object",
        "properties": {
            "run_id": {"type": "string", "description": "Any id without / ? #; a UUID when absent"},
            "dataset_id": {"type": "string", "description": "EXT-… ids go to metadata"},
            **_RUN_FIELDS,
        },
    },
    "RunUpdate": {"type": "object", "properties": _RUN_FIELDS},
    "ExportRequest": {
        "type": "object",
        "properties": {
            "filters": {"type": "array", "items": _FILTER},
            "dateRange": {
                "type": "object",
                "properties": {"$gte": {}, "$lte": {}, "relative": {"type": "string"}},
            },
            "projections": {"type": "array", "items": {"type": "string"}},
            "limit": _LIMIT,
            "page": _PAGE,
        },
    },
}
# The evaluation plane's bodies (the HoneyHive SDK's request models; unknown keys are
# kept and echoed back).
_STRINGS = {"type": "array", "items": {"type": "string"}}
_DATASET = {
    "name": {"type": "string", "default": "Untitled Dataset"},
    "description": {"type": "string"},
    "datapoints": {**_STRINGS, "description": "datapoint ids: the whole membership, in order"},
}
_DATAPOINT = {
    "inputs": _OBJECT,
    "history": {"type": "array", "items": _OBJECT},
    "ground_truth": {
        "description": "any JSON value; answered as an object (a scalar x as {value: x}) or null"
    },
    "metadata": _OBJECT,
    "linked_event": {"type": "string"},
    "linked_datasets": {**_STRINGS, "description": "datasets the datapoint joins"},
}
_MAPPING = {
    "type": "object",
    "properties": {role: _STRINGS for role in ("inputs", "history", "ground_truth")},
}
_METRIC = {
    "name": {"type": "string"},
    "type": {"type": "string", "enum": list(METRIC_TYPES)},
    "criteria": {"type": "string"},
    "description": {"type": "string"},
    "return_type": {"type": "string", "enum": list(RETURN_TYPES)},
    "enabled_in_prod": {"type": "boolean"},
    "needs_ground_truth": {"type": "boolean"},
    "sampling_percentage": {"type": "number", "minimum": 0, "maximum": 100},
    "threshold": {
        "type": "object",
        "properties": {
            "min": {"type": "number"},
            "max": {"type": "number"},
            "pass_when": {},
            "passing_categories": _STRINGS,
        },
    },
}
_CONFIGURATION = {
    "name": {"type": "string"},
    "type": {"type": "string", "enum": list(CONFIG_TYPES)},
    "provider": {"type": "string"},
    "parameters": {
        "type": "object",
        "required": ["call_type", "model"],
        "properties": {
            "call_type": {"type": "string", "enum": ["chat", "completion"]},
            "model": {"type": "string"},
        },
        "additionalProperties": True,
    },
    "env": {"type": "array", "items": {"type": "string", "enum": list(ENVS)}},
    "tags": _STRINGS,
    "user_properties": _OBJECT,
}
_CHART = {
    "name": {"type": "string"},
    "metric": {"type": "string", "example": "duration"},
    "description": {"type": "string"},
    "func": {"type": "string", "enum": list(AGGREGATIONS)},
    "groupBy": {"type": "string"},
    "bucketing": {"type": "string", "enum": list(BUCKETS)},
    "dateRange": {"type": "object", "properties": {"gte": {}, "lte": {}, "relative": {}}},
    "query": {"type": "array", "items": _FILTER},
    "owner_id": {"type": "string"},
}
SCHEMAS.update(
    {
        "Dataset": {"type": "object", "properties": _DATASET},
        "DatasetUpdate": {
            "type": "object",
            "required": ["dataset_id"],
            "properties": {"dataset_id": {"type": "string"}, **_DATASET},
        },
        "AddDatapoints": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "items": _OBJECT}, "mapping": _MAPPING},
        },
        "Datapoint": {"type": "object", "properties": _DATAPOINT},
        "DatapointBatch": {
            "type": "object",
            "properties": {
                "events": _STRINGS,
                "checkState": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "selectAll": {"type": "boolean"},
                "filters": {"type": "array", "items": _FILTER},
                "dateRange": {"type": "object", "properties": {"gte": {}, "lte": {}}},
                "mapping": _MAPPING,
                "dataset_id": {"type": "string"},
            },
        },
        "Configuration": {
            "type": "object",
            "required": ["name"],
            "properties": _CONFIGURATION,
        },
        "Metric": {"type": "object", "properties": _METRIC},
        "MetricUpdate": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string"}, **_METRIC},
        },
        "MetricVersion": {
            "type": "object",
            "required": ["message", "content"],
            "properties": {
                "message": {"type": "string"},
                "content": {"type": "object", "properties": _METRIC},
                "deploy_immediately": {"type": "boolean"},
            },
        },
        "Chart": {"type": "object", "required": ["name", "metric"], "properties": _CHART},
        "ChartUpdate": {"type": "object", "properties": _CHART},
    }
)
_QUERY_FILTERS = {
    "filters": "a JSON array of filters, or filters[0][field]=…&filters[0][operator]=…",
    "dateRange": 'JSON such as {"$gte": …, "$lte": …} or {"relative": "7d"}, or a time',
}
_DATE_RANGE = {"type": "string", "description": _QUERY_FILTERS["dateRange"]}
_RUN_FILTERS = {
    "type": "string",
    "description": "filters on the run's session rows: " + _QUERY_FILTERS["filters"],
}
QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "EventList": {
        **{name: {"type": "string", "description": text} for name, text in _QUERY_FILTERS.items()},
        "projections": {"type": "string", "description": "a JSON array or a comma list"},
        "limit": _LIMIT,
        "page": _PAGE,
        "sort_order": {"type": "string", "enum": ["asc", "desc"]},
    },
    "SessionList": {
        **{name: {"type": "string", "description": text} for name, text in _QUERY_FILTERS.items()},
        "q": {"type": "string", "description": "text in an input or output of the session"},
        "projections": {"type": "string", "description": "a JSON array or a comma list"},
        "limit": _LIMIT,
        "page": _PAGE,
        "sort_by": {"type": "string", "enum": list(SORT_KEYS), "default": "start_time"},
        "sort_order": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    },
    "Chart": {
        **{name: {"type": "string", "description": text} for name, text in _QUERY_FILTERS.items()},
        "metric": {"type": "string", "default": "duration", "example": "metadata.cost"},
        "aggregation": {"type": "string", "enum": list(AGGREGATIONS), "default": "avg"},
        "bucket": {"type": "string", "enum": list(BUCKETS), "default": "hour"},
        "groupBy": {"type": "string", "example": "config.model"},
    },
    "RunList": {
        "dataset_id": {"type": "string", "description": "an EXT-… id matches offline runs"},
        "run_ids[]": {"type": "string"},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": list(RUN_STATUSES)},
        "dateRange": _DATE_RANGE,
        "sort_by": {"type": "string", "enum": list(RUN_SORTS), "default": "created_at"},
        "sort_order": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
        "page": _PAGE,
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RUN_LIMIT, "default": 100},
    },
    "RunDelete": {"delete_sessions": {"type": "boolean", "default": False}},
    "RunResult": {
        "aggregate_function": {
            "type": "string",
            "enum": list(AGGREGATE_FUNCTIONS),
            "default": "average",
        },
        "filters": _RUN_FILTERS,
    },
    "RunMetrics": {"filters": _RUN_FILTERS, "dateRange": _DATE_RANGE},
    "RunSchema": {"dateRange": _DATE_RANGE},
    "Schema": {"dateRange": _DATE_RANGE, "evaluation_id": {"type": "string"}},
    "CompareEvents": {
        "run_id_1": {"type": "string", "description": "the new run (path routes: in the path)"},
        "run_id_2": {"type": "string", "description": "the old run"},
        "event_name": {"type": "string"},
        "event_type": {"type": "string"},
        "filter": _RUN_FILTERS,
        "limit": _LIMIT,
        "page": _PAGE,
    },
}


_PAGING = {"limit": _LIMIT, "page": _PAGE}
QUERY_PARAMETERS.update(
    {
        "DatasetList": {
            "dataset_id": {"type": "string"},
            "name": {"type": "string", "description": "every dataset of that name"},
            "include_datapoints": {"type": "boolean", "description": "whole datapoints"},
            "version": {"type": "integer", "minimum": 1, "description": "needs dataset_id"},
        },
        "DatapointList": {
            "datapoint_ids[]": {"type": "array", "items": {"type": "string"}},
            "dataset_name": {"type": "string"},
            "dataset_id": {"type": "string"},
            **_PAGING,
        },
        "ConfigurationList": {
            "name": {"type": "string"},
            "env": {"type": "string", "enum": list(ENVS)},
            "tags": {"type": "string", "description": "a comma list; all must match"},
        },
        "MetricList": {
            "type": {"type": "string", "enum": list(METRIC_TYPES)},
            "id": {"type": "string"},
        },
    }
)


def body_schema(name: str) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON request body of the named schema."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SCHEMAS[name]}},
        }
    }


def query_parameters(name: str) -> dict[str, Any]:
    """`openapi_extra` declaring the named set of optional query parameters."""
    return {
        "parameters": [
            {"name": key, "in": "query", "required": False, "schema": schema}
            for key, schema in QUERY_PARAMETERS[name].items()
        ]
    }
