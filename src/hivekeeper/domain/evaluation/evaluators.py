"""Metrics (evaluator definitions): bodies → versioned content, content → MetricItem.

A metric's `threshold` decides pass/fail in run results (`verdicts`). Its content is
versioned like a prompt's: `POST /v1/metrics/{id}/versions` appends a version (deployed
at once with `deploy_immediately`), `…/versions/{name}/deploy` makes one live, and the
legacy `PUT /v1/metrics` (and `PUT /v1/metrics/{id}`) appends a version and deploys it,
so an update takes effect as it did before versions existed. Lists show each metric's
deployed version.
"""

from __future__ import annotations

from dataclasses import dataclass

from hivekeeper.domain.charts import iso_time
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation._params import QueryParams, query_fields
from hivekeeper.domain.evaluation.versions import Version
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.types import JsonObject

METRIC_TYPES = ("PYTHON", "LLM", "HUMAN", "COMPOSITE")
RETURN_TYPES = ("float", "boolean", "string", "categorical")
_DEFAULTS: JsonObject = {
    "description": None,
    "return_type": "float",
    "enabled_in_prod": False,
    "sampling_percentage": 100,
    "needs_ground_truth": False,
    "filters": {"filterArray": []},
}
_KNOWN = (
    "name",
    "type",
    "criteria",
    "description",
    "return_type",
    "enabled_in_prod",
    "sampling_percentage",
    "model_provider",
    "model_name",
    "scale",
    "threshold",
    "categories",
    "needs_ground_truth",
    "child_metrics",
    "filters",
)


@dataclass(frozen=True, slots=True)
class Threshold:
    """When a value passes: within `[min, max]` (numbers; a bound may be open), equal to
    `pass_when` (booleans, or an exact number), or in `passing_categories` (strings)."""

    min: float | None = None
    max: float | None = None
    pass_when: bool | float | None = None
    passing_categories: tuple[str, ...] | None = None

    @property
    def is_empty(self) -> bool:
        return self == Threshold()


def parse_metric_query(params: QueryParams) -> tuple[str | None, str | None]:
    """`GET /v1/metrics`: `(type, id)`, either may be absent; `type` as in a metric."""
    query = query_fields(params)
    return query.choice("type", METRIC_TYPES), query.identifier("id")


def parse_metric_id(params: QueryParams) -> str:
    """`DELETE /v1/metrics?metric_id=` (what the 1.7.0 client sends): the required id."""
    return str(query_fields(params).identifier("metric_id", required=True))


def parse_metric(raw: object, *, where: str = "body") -> JsonObject:
    """A CreateMetric body (`name`, `type`, `criteria` required) → version content,
    defaults filled. Raises ValidationFailed naming the field."""
    fields = _fields(Fields(raw, where), creating=True)
    return {**_DEFAULTS, **fields}


def parse_metric_update(raw: object, *, where: str = "body") -> JsonObject:
    """An UpdateMetric body: the fields to replace (all optional; `id` is read apart)."""
    fields = Fields(raw, where)
    return {k: v for k, v in _fields(fields, creating=False).items() if k != "id"}


def parse_version_request(raw: object) -> tuple[str, JsonObject, bool]:
    """`POST /v1/metrics/{id}/versions`: `(message, content, deploy_immediately)`."""
    body = Fields(raw, "body")
    message = body.text("message")
    content = parse_metric(body.raw("content"), where="content") if body.has("content") else None
    if content is None:
        raise ValidationFailed("content is required", field="content")
    return message, content, bool(body.boolean("deploy_immediately"))


def threshold_of(content: JsonObject) -> Threshold:
    """The threshold stored in a metric's content (validated when it was saved)."""
    raw = content.get("threshold")
    if not isinstance(raw, dict):
        return Threshold()
    return _threshold(Fields(raw, "threshold"))


def render_metric(metric_id: str, version: Version, first: Version) -> JsonObject:
    """The MetricItem of a metric showing `version`; `created_at` is its first version's
    time and `updated_at` this one's (null when it is the first)."""
    return {
        **_DEFAULTS,
        **version.content,
        "id": metric_id,
        "created_at": iso_time(first.key[0]),
        "updated_at": None if version.key == first.key else iso_time(version.key[0]),
    }


def render_version(version: Version, *, deployed: bool) -> JsonObject:
    """A MetricVersion: `{name, full_sha, message, date, deployed, content}`."""
    return {
        "name": version.name,
        "full_sha": version.sha,
        "message": version.message or "",
        "date": iso_time(version.key[0]),
        "deployed": deployed,
        "content": {**_DEFAULTS, **version.content},
    }


def _fields(body: Fields, *, creating: bool) -> JsonObject:
    out: JsonObject = {}
    if creating or body.has("name"):
        out["name"] = body.text("name")
    if creating or body.has("type"):
        out["type"] = body.choice("type", METRIC_TYPES, required=True)
    if creating or body.has("criteria"):
        out["criteria"] = body.string("criteria", required=True)
    optional = {
        "description": body.string("description"),
        "return_type": body.choice("return_type", RETURN_TYPES),
        "enabled_in_prod": body.boolean("enabled_in_prod"),
        "sampling_percentage": body.number("sampling_percentage", minimum=0, maximum=100),
        "model_provider": body.string("model_provider"),
        "model_name": body.string("model_name"),
        "scale": body.integer("scale", minimum=1),
        "needs_ground_truth": body.boolean("needs_ground_truth"),
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    if (threshold := body.nested("threshold")) is not None:
        _threshold(threshold)
        out["threshold"] = threshold.obj
    for i, category in enumerate(body.json_objects("categories") or ()):
        item = Fields(category, f"{body.path('categories')}[{i}]")
        item.string("category", required=True)
        item.number("score")
    if body.has("categories"):
        out["categories"] = body.raw("categories")
    for i, child in enumerate(body.json_objects("child_metrics") or ()):
        item = Fields(child, f"{body.path('child_metrics')}[{i}]")
        item.text("name")
        item.number("weight")
    if body.has("child_metrics"):
        out["child_metrics"] = body.raw("child_metrics")
    if (filters := body.nested("filters")) is not None:
        filters.json_objects("filterArray")
        out["filters"] = {"filterArray": [], **filters.obj}
    out.update(body.extra((*_KNOWN, "id")))
    return out


def _threshold(fields: Fields) -> Threshold:
    low, high = fields.number("min"), fields.number("max")
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            f"{fields.path('min')} is above {fields.path('max')}", field=fields.path("min")
        )
    pass_when = fields.raw("pass_when")
    if pass_when is not None and not isinstance(pass_when, bool):
        pass_when = fields.number("pass_when")
    categories = fields.strings("passing_categories")
    return Threshold(
        min=low,
        max=high,
        pass_when=pass_when,
        passing_categories=None if categories is None else tuple(categories),
    )
