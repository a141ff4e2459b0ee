"""The web UI: server-rendered pages over the same store and writer as the API.

- `signin`: sign in with an API key, add a project, sign out (`auth`: the cookie
  session, CSRF tokens, Origin checks);
- `sessions`: the sessions list, one session's tree, waterfall and detail;
- `detail`: an event's detail fragment and feedback on it;
- `events` and `export`: the events explorer and its streamed JSONL/CSV download;
- `dashboard` (with `svg`): charts over time from the chart query;
- `experiments`, `runs`, `compare` (with `run_results`, `scores`, `word_diff`,
  `eval_params`): evaluation runs by dataset, one run's grid, two runs compared;
- `datasets`, `datapoints`, `imports` (with `staging`), `dataset_export`,
  `dataset_adds`: datasets, their versions and datapoints, CSV/JSONL imports staged
  on disk, downloads of a version, and sessions and events added to datasets;
- `prompts` and `evaluators` (with `forms`, `diffs`): versioned prompts deployed per
  environment, and evaluator definitions;
- `apidocs`: the API's docs (Swagger UI, ReDoc) and its OpenAPI document;
- `route`, `params`, `paging`, `columns`, `formats`, `templating`, `assets`, `browser`:
  what the pages share (error pages, view state in the URL, paging, the explorer's
  columns, rendering, static files, security headers and forms). Each page module
  shapes what its own templates show.

`router` holds every UI route; the app includes it after the API's.
"""

from __future__ import annotations

from fastapi import APIRouter

from hivekeeper.ui import (  # evaluation: datasets, prompts, evaluators
    apidocs,
    assets,
    dashboard,
    datapoints,
    dataset_adds,
    dataset_export,
    datasets,
    detail,
    evaluators,
    events,
    export,
    imports,
    prompts,
    sessions,
    signin,
)
from hivekeeper.ui import compare as _compare
from hivekeeper.ui import experiments as _experiments
from hivekeeper.ui import runs as _runs

router = APIRouter(include_in_schema=False)
for _module in (apidocs, assets, signin, sessions, detail, export, events, dashboard):
    router.include_router(_module.router)
for _module in (_experiments, _runs, _compare):  # the experiments pages
    router.include_router(_module.router)
for _module in (datasets, datapoints, imports, dataset_export, dataset_adds, prompts, evaluators):
    router.include_router(_module.router)

__all__ = ["router"]
