"""What the designs proposed for a faster compare page would save, measured in one process
against the API's `compare-with` on the same two 10,000-datapoint runs (SQLite).

Seeds (or reuses, with `--db`) the database `ui_compare.py` serves, then times, median
of `--repeats`, interleaved, in CPU time (`time.process_time`: SQLite runs in the
process, and CPU time is what a machine shared with other work still measures fairly;
`--wall` for wall-clock time):

- `compare-with` as the API computes it (`run_reads.compare`): the baseline;
- the compare page's computation (`ui.compare._compare`: both results, the comparison,
  the ranked rows, the page's 25 rows read whole and diffed; no HTML), with the cyclic
  collector paused throughout, and, as before, only while the results are computed;
- design 1, the per-datapoint, per-metric reduction pushed into SQL: (a) one grouped
  query per run over SQLite's JSON functions returning (datapoint, metric, event name,
  event type, reduced value); (b) SQL extracting each score as a row (`json_each`),
  Python reducing those numbers; either feeding `comparison.compare`. Both are
  prototypes of `compare-with` (average only, no filters) and are checked against it;
- what design 1 could save in the page as it is: `comparison.run_scores` of both runs
  (the page still computes both results, for each row's pass/fail, labels and first
  session);
- design 1c, the page's rows ranked from the scores SQLite extracts (1b's rows, and
  which sessions hold an error): each session's pass/fail, each datapoint's first
  session and its change per metric, without traces or results; then the page's 25
  rows read. A prototype (no label metrics, no metric table), checked against the
  page's counts and first rows;
- design 2, a comparison kept until either run changes, warm: per request only a change
  stamp per run (stood in for by an index-only count and latest start over its
  sessions' events: the events table has no change stamp) and the run rows, then the
  page's rows read whole and diffed. Cold, it costs what the page costs now.

    python bench/compare_designs.py [--db /tmp/compare-designs] [--repeats 5]
"""

from __future__ import annotations

import argparse
import gc
import math
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from ui_compare import prepare  # noqa: E402

from hivekeeper.domain.evaluation import comparison  # noqa: E402
from hivekeeper.domain.evaluation.aggregates import aggregate  # noqa: E402
from hivekeeper.domain.evaluation.comparison import GroupScores, RunScores  # noqa: E402
from hivekeeper.domain.evaluation.results import ResultQuery  # noqa: E402
from hivekeeper.domain.evaluation.runs import Run  # noqa: E402
from hivekeeper.domain.evaluation.verdicts import Rules, rules_for, verdict  # noqa: E402
from hivekeeper.domain.types import JsonObject  # noqa: E402
from hivekeeper.store import Store, open_store  # noqa: E402
from hivekeeper.ui import compare as page  # noqa: E402
from hivekeeper.web import run_reads  # noqa: E402

SESSIONS = (
    "SELECT session_id FROM events WHERE project_id = :p AND run_id = :r "
    "AND session_id IS NOT NULL UNION "
    "SELECT session_id FROM run_sessions WHERE project_id = :p AND run_id = :r"
)
NUMBERS = "('integer', 'real', 'true', 'false')"
# Design 1a: the datapoint of a session is its own row's, else one of its events'.
GROUPED = f"""
WITH ev AS (
  SELECT session_id, event_id, COALESCE(event_name, 'unknown') AS event_name, event_type,
         json_extract(metadata, '$.datapoint_id') AS dp, metrics
  FROM events WHERE project_id = :p AND event_type IS NOT NULL AND session_id IN ({SESSIONS})),
sess AS (
  SELECT session_id, COALESCE(MAX(CASE WHEN event_id = session_id THEN dp END),
                              MIN(dp)) AS datapoint_id
  FROM ev GROUP BY session_id)
SELECT s.datapoint_id, j.key, ev.event_name, ev.event_type,
       AVG(CASE WHEN j.type IN ('integer', 'real') THEN j.value WHEN j.type = 'true' THEN 1.0
                WHEN j.type = 'false' THEN 0.0 END),
       COUNT(*), SUM(j.type = 'text'), SUM(j.type IN ('true', 'false'))
FROM ev JOIN sess s USING (session_id), json_each(ev.metrics) j
WHERE ev.metrics <> '{{}}' AND j.type IN ('integer', 'real', 'true', 'false', 'text')
GROUP BY s.datapoint_id, j.key, ev.event_name, ev.event_type
"""
# Designs 1b and 1c: each score as a row.
SCORES = f"""SELECT e.session_id, COALESCE(e.event_name, 'unknown'), e.event_type, j.key, j.type,
  j.value FROM events e, json_each(e.metrics) j WHERE e.project_id = :p
  AND e.event_type IS NOT NULL AND e.metrics <> '{{}}' AND e.session_id IN ({SESSIONS})"""
# Designs 1b and 1c: each event's session, datapoint and whether it holds an error.
SESSION_EVENTS = f"""SELECT session_id, event_id, start_time,
  json_extract(metadata, '$.datapoint_id'), error IS NOT NULL FROM events
  WHERE project_id = :p AND event_type IS NOT NULL AND session_id IN ({SESSIONS})"""
STAMP = f"""SELECT count(*), max(start_time) FROM events
  WHERE project_id = :p AND session_id IN ({SESSIONS})"""


def metric_type(count: int, texts: int, booleans: int) -> str:
    if booleans == count:
        return "boolean"
    return "numeric" if count - texts - booleans else "string"


def in_order(run: Run, datapoints: dict[str, None]) -> tuple[str, ...]:
    rank = {d: i for i, d in enumerate(dict.fromkeys(run.datapoint_ids))}
    return tuple(sorted(datapoints, key=lambda d: rank.get(d, len(rank))))


def grouped_scores(conn: sqlite3.Connection, project_id: str, run: Run) -> RunScores:
    """Design 1a: the run's scores reduced per datapoint by SQLite."""
    found: dict[tuple[str, str, str], tuple[dict[str, float], list[int]]] = {}
    datapoints: dict[str, None] = {}
    for dp, key, name, kind, value, count, texts, booleans in conn.execute(
        GROUPED, {"p": project_id, "r": run.run_id}
    ):
        datapoints[dp] = None
        by_dp, kinds = found.setdefault((key, name, kind), ({}, [0, 0, 0]))
        if value is not None:
            by_dp[dp] = value
        kinds[0], kinds[1], kinds[2] = kinds[0] + count, kinds[1] + texts, kinds[2] + booleans
    groups = {
        group: GroupScores(
            metric_type(*kinds), aggregate("average", list(by_dp.values()), kinds[0]), by_dp
        )
        for group, (by_dp, kinds) in found.items()
    }
    return RunScores(in_order(run, datapoints), groups, ())


def extracted_scores(conn: sqlite3.Connection, project_id: str, run: Run) -> RunScores:
    """Design 1b: the run's scores as rows from SQLite, reduced per datapoint here."""
    return ranked_run(conn, project_id, run, {}).scores


class Ranked(NamedTuple):
    """Design 1c's reading of one run."""

    scores: RunScores
    first: dict[str, str]  # datapoint -> its first session
    failed: set[str]  # sessions that fail
    events: dict[str, list[str]]  # session -> its event ids


def ranked_run(conn: sqlite3.Connection, project_id: str, run: Run, rules: Rules) -> Ranked:
    """Designs 1b and 1c: the run's scores reduced per datapoint (each datapoint's
    from its own session's row, else from one of its events), its sessions'
    pass/fail by `rules`, each datapoint's first session."""
    args = {"p": project_id, "r": run.run_id}
    rows = conn.execute(SESSION_EVENTS, args).fetchall()
    rows.sort(key=lambda r: (math.inf if r[2] is None else r[2], r[1]))
    datapoint_of: dict[str, str] = {}
    events: dict[str, list[str]] = {}
    failed: set[str] = set()
    for session_id, event_id, _, dp, error in rows:
        events.setdefault(session_id, []).append(event_id)
        if error:
            failed.add(session_id)
        if isinstance(dp, str) and dp:
            if event_id == session_id:
                datapoint_of[session_id] = dp
            else:
                datapoint_of.setdefault(session_id, dp)
    numbers: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    kinds: dict[tuple[str, str, str], list[int]] = {}
    for session_id, name, kind, key, json_type, value in conn.execute(SCORES, args):
        group = (key, name, kind)
        counted = kinds.setdefault(group, [0, 0, 0])
        counted[0] += 1
        counted[1] += json_type == "text"
        counted[2] += json_type in ("true", "false")
        score = value == 1 if json_type in ("true", "false") else value
        if session_id not in failed and verdict(score, rules.get(key)) is False:
            failed.add(session_id)
        dp = datapoint_of.get(session_id)
        if json_type != "text" and dp is not None:
            numbers.setdefault(group, {}).setdefault(dp, []).append(float(value))
    groups = {}
    for group, by_dp in numbers.items():
        every = [v for values in by_dp.values() for v in values]
        reduced = {d: aggregate("average", v, len(v)) or 0.0 for d, v in by_dp.items()}
        overall = aggregate("average", every, kinds[group][0])
        groups[group] = GroupScores(metric_type(*kinds[group]), overall, reduced)
    first: dict[str, str] = {}
    for session_id in events:  # in order of their first event's start
        if session_id in datapoint_of:
            first.setdefault(datapoint_of[session_id], session_id)
    return Ranked(RunScores(in_order(run, dict.fromkeys(first)), groups, ()), first, failed, events)


def ranked_rows(
    store: Store, conn: sqlite3.Connection, project_id: str
) -> tuple[Counter[str], list[str]]:
    """Design 1c: the page's rows ranked (each status's count, the first 25 rows'
    datapoints) from what SQLite extracts, and the 25 rows' events read."""
    new = run_reads.require_run(store, project_id, "candidate")
    old = run_reads.require_run(store, project_id, "baseline")
    names = {key for run in (new, old) for key in run.passing_ranges}
    thresholds = run_reads.metric_thresholds(store, project_id, names)
    rules = rules_for(new.passing_ranges, thresholds)
    gc.disable()
    try:
        new_run = ranked_run(conn, project_id, new, rules)
        old_run = ranked_run(conn, project_id, old, rules_for(old.passing_ranges, thresholds))
        compared = comparison.compare(new_run.scores, old_run.scores, rules)
        changes: dict[str, dict[str, int]] = {}
        for metric in compared.metrics:
            for severity, ids in enumerate((metric.same, metric.improved, metric.degraded)):
                for d in ids:
                    held = changes.setdefault(d, {})
                    held[metric.group[0]] = max(held.get(metric.group[0], 0), severity)
        ranked = []
        statuses: Counter[str] = Counter()
        for number, d in enumerate(compared.common):
            was = old_run.first[d] not in old_run.failed
            now = new_run.first[d] not in new_run.failed
            kept = list(changes.get(d, {}).values())
            worse, better = kept.count(2), kept.count(1)
            if was != now:
                status = "improved" if now else "regressed"
            elif worse != better:
                status = "regressed" if worse > better else "improved"
            else:
                status = "mixed" if worse else "unchanged"
            statuses[status] += 1
            fails = 0 if was and not now else 1
            ranked.append(((_ORDER[status], fails, -worse, number), d))
        ranked.sort()
        shown = [d for _, d in ranked[:25]]
        ids = [
            e for d in shown for r in (new_run, old_run) for e in r.events[r.first[d]]
        ]
        store.get_events(project_id, ids)
        return statuses, shown
    finally:
        gc.enable()


_ORDER = {"regressed": 0, "mixed": 1, "improved": 2, "unchanged": 3}


def prototype(
    store: Store, project_id: str, scores: Callable[[Run], RunScores]
) -> Callable[[], JsonObject]:
    """`compare-with` (candidate against baseline) from `scores` of each run."""

    def compare() -> JsonObject:
        new = run_reads.require_run(store, project_id, "candidate")
        old = run_reads.require_run(store, project_id, "baseline")
        gc.disable()
        try:
            compared = comparison.compare(
                scores(new), scores(old), rules_for(new.passing_ranges, {})
            )
            new_object, old_object = run_reads.run_objects(store, project_id, [new, old])
            return comparison.render_comparison(compared, new_object, old_object)
        finally:
            gc.enable()

    return compare


def agrees(one: JsonObject, other: JsonObject) -> bool:
    """The same datapoints, counts, values and aggregates (to 1e-9)."""
    fields = ("metric_name", "metric_type", "found", "improved", "degraded", "same")
    for a, b in zip(one["metrics"], other["metrics"], strict=True):
        if any(a[f] != b[f] for f in fields):
            return False
        if abs((a["old_aggregate"] or 0) - (b["old_aggregate"] or 0)) > 1e-9:
            return False
    return bool(one["commonDatapoints"] == other["commonDatapoints"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/compare-designs"))
    parser.add_argument("--datapoints", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--wall", action="store_true", help="wall-clock, not CPU, time")
    args = parser.parse_args()
    args.db.mkdir(parents=True, exist_ok=True)
    path = args.db / "hivekeeper.db"
    if not path.exists():
        prepare(args.db, args.datapoints, 5)
    store = open_store(f"sqlite:///{path}")
    store.open()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        project = store.bootstrap().project
        query = page.CompareQuery(old="baseline", new="candidate")
        whole = ResultQuery(function="average", conditions=())
        new, old = (run_reads.require_run(store, project.id, r) for r in ("candidate", "baseline"))
        new_traces = run_reads._traces(store, project.id, "candidate", (), scores_only=True)
        old_traces = run_reads._traces(store, project.id, "baseline", (), scores_only=True)
        view = page._compare(store, project.id, query)

        def warm() -> None:
            for run_id in ("baseline", "candidate"):
                conn.execute(STAMP, {"p": project.id, "r": run_id}).fetchall()
                run_reads.require_run(store, project.id, run_id)
            page._with_outputs(store, project.id, view.rows, query.diff)

        def run_scores() -> None:
            comparison.run_scores(new_traces, new.datapoint_ids, "average")
            comparison.run_scores(old_traces, old.datapoint_ids, "average")

        designs: dict[str, Callable[[], object]] = {
            "compare-with (the API, now)": lambda: run_reads.compare(
                store, project, "candidate", "baseline", whole
            ),
            "compare page, collector paused while results are computed (before)": lambda: (
                page._compare.__wrapped__(store, project.id, query)  # type: ignore[attr-defined]
            ),
            "compare page, collector paused throughout (now)": lambda: page._compare(
                store, project.id, query
            ),
            "1a: compare-with, reduced by SQLite (grouped query)": prototype(
                store, project.id, lambda run: grouped_scores(conn, project.id, run)
            ),
            "1b: compare-with, scores extracted by SQLite, reduced here": prototype(
                store, project.id, lambda run: extracted_scores(conn, project.id, run)
            ),
            "1 in the page: run_scores of both runs (what it could save)": run_scores,
            "1c: the page's rows ranked from scores SQLite extracts, 25 rows read": lambda: (
                ranked_rows(store, conn, project.id)
            ),
            "2: compare page, warm (stamps, the page's rows whole and diffed)": warm,
        }
        reference = run_reads.compare(store, project, "candidate", "baseline", whole)
        for name in list(designs)[3:5]:
            same = agrees(reference, designs[name]())  # type: ignore[arg-type]
            print(f"{name}: {'agrees with' if same else 'DIFFERS from'} compare-with")
        clock = time.perf_counter if args.wall else time.process_time
        statuses, shown = ranked_rows(store, conn, project.id)
        same = statuses == Counter(view.counts) and shown == [r.datapoint_id for r in view.rows]
        print(f"1c: {'agrees with' if same else 'DIFFERS from'} the page's counts and rows")
        times: dict[str, list[float]] = {name: [] for name in designs}
        for _ in range(args.repeats):
            for name, design in designs.items():
                started = clock()
                design()
                times[name].append(clock() - started)
    finally:
        conn.close()
        store.close()
    baseline = statistics.median(times["compare-with (the API, now)"])
    kind = "wall-clock" if args.wall else "CPU"
    print(f"\n{args.datapoints:,} datapoints x 5 metrics per run, median of {args.repeats}\n")
    print(f"| design | {kind} ms | x compare-with |")
    print("|---|---|---|")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"| {name} | {median * 1000:.0f} | {median / baseline:.2f} |")


if __name__ == "__main__":
    main()
