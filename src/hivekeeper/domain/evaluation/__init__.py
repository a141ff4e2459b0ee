"""The evaluation plane's pure code: datasets and their versions, datapoints, prompts,
evaluators, runs, and run results and comparisons computed from stored events.

- `datapoints`, `mapping`, `datasets`, `changelog`: datapoint content and its answer
  shape, rows and events → datapoints, dataset bodies, versions as a change log;
- `versions`, `configurations`, `evaluators`: versioned prompts and metrics, their
  deployments, and the metric thresholds that decide pass/fail;
- `runs`: run bodies, the run object and run lists;
- `traces`, `aggregates`, `verdicts`, `results`, `comparison`, `schema`: a run's stored
  events → its result, two runs compared, the fields events hold.

Nothing here does I/O: stores supply rows, the API renders what these return.
"""

from hivekeeper.domain.evaluation import (
    aggregates,
    changelog,
    comparison,
    configurations,
    datapoints,
    datasets,
    evaluators,
    mapping,
    results,
    runs,
    schema,
    traces,
    verdicts,
    versions,
)

# The modules are the surface (their function names repeat across them: each has its
# `parse_…` and `render_…`); `_params` is private.
__all__ = [
    "aggregates",
    "changelog",
    "comparison",
    "configurations",
    "datapoints",
    "datasets",
    "evaluators",
    "mapping",
    "results",
    "runs",
    "schema",
    "traces",
    "verdicts",
    "versions",
]
