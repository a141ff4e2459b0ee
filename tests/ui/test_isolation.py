"""Projects are sealed in the web UI: a browser signed in to project B never sees A.

Every UI route has a case here, naming project A's ids from a browser that holds
only B's key; `test_every_ui_route_has_a_case` fails on a UI route added later
until it gets one (tests/contract/test_isolation.py leaves UI routes to this file).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from hivekeeper import ui
from tests.contract.test_isolation import _route_keys
from tests.ui.client import csrf_of, signed_in
from tests.ui.conftest import Seeded
from tests.ui.evaluation_cases import EVALUATION_CASES
from tests.ui.experiment_cases import EXPERIMENT_CASES, SESSION_FILTER_CASES

MARKERS = ("checkout-flow", "Where is my parcel", "batch-job", "SMTPError")
Case = Callable[[httpx.Client, Seeded], list[httpx.Response]]


def _foreign_project(path: str) -> Case:
    """B's browser on a page of A's project id: not found, nothing of A."""

    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        return [client.get(path.format(pid=a.project_id, sid=a.sessions["checkout"]))]

    return call


def _own_project(path: str) -> Case:
    """B's browser on B's project, naming A's ids: not found, nothing of A."""

    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        return [
            client.get(path.format(pid=a.second_project_id, sid=a.sessions["checkout"], eid=eid))
            for eid in (a.events["model"], a.sessions["checkout"])
        ]

    return call


def _feedback(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
    token = csrf_of(client.get(f"/p/{a.second_project_id}/sessions").text)
    answers = []
    for pid in (a.project_id, a.second_project_id):
        answers.append(
            client.post(
                f"/p/{pid}/events/{a.events['broken']}/feedback",
                data={"csrf": token, "rating": "1", "comment": "from B"},
            )
        )
    return answers


def _save_view(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
    """B saves a dashboard view naming A's project: refused; in B's own: B's chart."""
    token = csrf_of(client.get(f"/p/{a.second_project_id}/dashboard").text)
    return [
        client.post(
            f"/p/{pid}/dashboard/save",
            data={"csrf": token, "name": "from B", "view": "split=event_name"},
        )
        for pid in (a.project_id, a.second_project_id)
    ]


def _listing(path: str) -> Case:
    """B's own list pages, searched for A's data: none of it."""

    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        pid = a.second_project_id
        return [
            client.get(path.format(pid=pid)),
            client.get(path.format(pid=pid), params={"q": "parcel"}),
        ]

    return call


def _public(path: str) -> Case:
    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        return [client.get(path)]

    return call


def _sign_out(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return []  # ends B's own session only; covered by test_pages


CASES: dict[tuple[str, str], list[Case]] = {
    ("GET", "/"): [_public("/")],
    ("GET", "/signin"): [_public("/signin")],
    ("POST", "/signin"): [_sign_out],  # signs B in to B; covered by test_pages
    ("POST", "/signout"): [_sign_out],
    ("GET", "/assets/{name}"): [_public("/assets/app.css")],
    ("GET", "/docs"): [_public("/docs")],
    ("GET", "/redoc"): [_public("/redoc")],
    ("GET", "/openapi.json"): [_public("/openapi.json")],
    ("GET", "/p/{pid}/sessions"): [
        _foreign_project("/p/{pid}/sessions"),
        _listing("/p/{pid}/sessions"),
    ],
    ("GET", "/p/{pid}/events"): [_foreign_project("/p/{pid}/events"), _listing("/p/{pid}/events")],
    ("GET", "/p/{pid}/dashboard"): [
        _foreign_project("/p/{pid}/dashboard"),
        _listing("/p/{pid}/dashboard?split=event_name&type="),
    ],
    ("GET", "/p/{pid}/events/export.csv"): [
        _foreign_project("/p/{pid}/events/export.csv"),
        _listing("/p/{pid}/events/export.csv"),
    ],
    ("GET", "/p/{pid}/events/export.jsonl"): [
        _foreign_project("/p/{pid}/events/export.jsonl"),
        _listing("/p/{pid}/events/export.jsonl"),
    ],
    ("GET", "/p/{pid}/sessions/{session_id}"): [
        _foreign_project("/p/{pid}/sessions/{sid}"),
        _own_project("/p/{pid}/sessions/{sid}"),
        _own_project("/p/{pid}/sessions/{eid}"),
    ],
    ("GET", "/p/{pid}/sessions/{session_id}/outline.json"): [
        _foreign_project("/p/{pid}/sessions/{sid}/outline.json"),
        _own_project("/p/{pid}/sessions/{eid}/outline.json"),
    ],
    ("GET", "/p/{pid}/events/{event_id}/detail"): [
        _foreign_project("/p/{pid}/events/x/detail"),
        _own_project("/p/{pid}/events/{eid}/detail"),
    ],
    ("POST", "/p/{pid}/events/{event_id}/feedback"): [_feedback],
    ("GET", "/p/{pid}/sessions/{session_id}/search.json"): [
        _foreign_project("/p/{pid}/sessions/{sid}/search.json?q=parcel"),
        _own_project("/p/{pid}/sessions/{sid}/search.json?q=parcel"),
        _own_project("/p/{pid}/sessions/{eid}/search.json?q=SMTP"),
    ],
    ("POST", "/p/{pid}/dashboard/save"): [_save_view],
    ("GET", "/p/{pid}/session-count"): [
        _foreign_project("/p/{pid}/session-count?q=parcel"),
        _listing("/p/{pid}/session-count"),
    ],
}
CASES.update(EXPERIMENT_CASES)  # experiments, runs, compare: tests/ui/experiment_cases.py
CASES[("GET", "/p/{pid}/sessions")] += SESSION_FILTER_CASES
CASES.update(EVALUATION_CASES)  # datasets, prompts, evaluators: tests/ui/evaluation_cases.py


def test_every_ui_route_has_a_case() -> None:
    routes = {key for route in ui.router.routes for key in _route_keys(route)}
    assert routes == set(CASES), f"add isolation cases for {sorted(routes - set(CASES))}"


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_project_b_never_sees_project_a(seeded: Seeded, route: tuple[str, str]) -> None:
    with signed_in(seeded.url, seeded.second_key) as client:
        for case in CASES[route]:
            for answer in case(client, seeded):
                assert answer.status_code in (200, 303, 404), (answer.url, answer.status_code)
                for marker in MARKERS:
                    assert marker not in answer.text, (answer.url, marker)
    with seeded.server.client() as api:
        stored = api.get(f"/v1/events/{seeded.events['broken']}").json()["event"]
        assert stored["feedback"] == {}, "B wrote feedback on A's event"
        names = [c["name"] for c in api.get("/v1/charts").json()["data"]]
        assert "from B" not in names, "B saved a view in A's project"
