"""The UI without a browser: auth and CSRF, no-JS rendering, escaping, exports, headers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest
from starlette.testclient import TestClient

from hivekeeper.app import create_app
from hivekeeper.domain.tenancy import generate_key
from hivekeeper.store import open_store
from tests.support.server import run_server, settings_for
from tests.ui.client import browser, csrf_of, sign_in, signed_in
from tests.ui.conftest import HOSTILE, Seeded

RAW_SCRIPT = "<script>window.__pwned"


def test_pages_redirect_to_sign_in_with_next(seeded: Seeded) -> None:
    with browser(seeded.url) as client:
        path = f"/p/{seeded.project_id}/sessions?q=parcel"
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin?next=" + quote(path, safe="")
        assert client.get("/").headers["location"] == "/signin"
        assert client.get(f"/p/{seeded.project_id}/events/x/detail").status_code == 303


def test_sign_in_sets_a_strict_httponly_cookie_and_follows_next(seeded: Seeded) -> None:
    with browser(seeded.url) as client:
        target = f"/p/{seeded.project_id}/events"
        answer = sign_in(client, seeded.key, next_path=target)
        assert answer.status_code == 303
        assert answer.headers["location"] == target
        cookie = answer.headers["set-cookie"]
        assert "hk_keys=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain http here; https sets it
        assert client.get(target).status_code == 200


def test_sign_in_never_redirects_off_site(seeded: Seeded) -> None:
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        with browser(seeded.url) as client:
            answer = sign_in(client, seeded.key, next_path=evil)
            assert answer.headers["location"] == f"/p/{seeded.project_id}/sessions"


def test_ingest_data_plane_and_unknown_keys_cannot_sign_in(seeded: Seeded) -> None:
    with browser(seeded.url) as client:
        answer = sign_in(client, seeded.ingest_key)
        assert answer.status_code == 403
        assert "ingest-only key" in answer.text
        assert "hk_keys" not in answer.headers.get("set-cookie", "")
        answer = sign_in(client, seeded.server.new_key("default", "dataplane"))
        assert answer.status_code == 403
        assert "data-plane key" in answer.text and "cannot sign in" in answer.text
        assert "hk_keys" not in answer.headers.get("set-cookie", "")
        answer = sign_in(client, "hh_not_a_key")
        assert answer.status_code == 401
        assert "unknown or revoked" in answer.text


def test_forged_posts_are_refused(seeded: Seeded) -> None:
    event_id = seeded.events["broken"]  # no test adds feedback to it
    path = f"/p/{seeded.project_id}/events/{event_id}/feedback"
    with signed_in(seeded.url, seeded.key) as client:
        token = csrf_of(client.get(f"/p/{seeded.project_id}/sessions").text)
        wrong_token = client.post(path, data={"csrf": "0" * 64, "rating": "1"})
        no_token = client.post(path, data={"rating": "1"})
        foreign = client.post(
            path, data={"csrf": token, "rating": "1"}, headers={"origin": "https://evil.example"}
        )
        opaque = client.post(path, data={"csrf": token, "rating": "1"}, headers={"origin": "null"})
        for answer in (wrong_token, no_token, foreign, opaque):
            assert answer.status_code == 403, answer.text
        # Signing out is a POST too: a forged one must not end the session.
        assert client.post("/signout", data={"csrf": "x"}).status_code == 403
        assert client.get(f"/p/{seeded.project_id}/sessions").status_code == 200
    with browser(seeded.url) as client:  # a sign-in POST without the form's cookie
        answer = client.post("/signin", data={"key": seeded.key, "csrf": "guess"})
        assert answer.status_code == 403
    with signed_in(seeded.url, seeded.key) as api:
        event = api.get(f"/p/{seeded.project_id}/events/{event_id}/detail")
        assert "feedback-current" not in event.text  # none of the forgeries was stored


def test_a_revoked_key_signs_the_browser_out(seeded: Seeded) -> None:
    key = seeded.server.new_key("default")
    key_id = key.split("_")[1]
    with signed_in(seeded.url, key) as client:
        page = f"/p/{seeded.project_id}/sessions"
        assert client.get(page).status_code == 200
        seeded.server.store.revoke_key(key_id)
        answer = client.get(page)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/signin?next=")
        assert "reason=revoked" in answer.headers["location"]
        assert (
            'hk_keys=""' in answer.headers["set-cookie"]
            or "Max-Age=0" in answer.headers["set-cookie"]
        )
        assert client.get(page).status_code == 303


def test_sign_out_clears_the_cookie(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        token = csrf_of(client.get(f"/p/{seeded.project_id}/sessions").text)
        answer = client.post("/signout", data={"csrf": token})
        assert answer.status_code == 303
        assert client.get(f"/p/{seeded.project_id}/sessions").status_code == 303


def test_api_docs_carry_the_ui_security_headers_and_no_cdn(seeded: Seeded) -> None:
    with browser(seeded.url) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            csp = answer.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp, path
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
            assert answer.headers["x-frame-options"] == "DENY", path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert "http://" not in answer.text[:2000] and "https://" not in answer.text[:2000]
        assert client.get("/openapi.json").json()["info"]["title"] == "hivekeeper"
        html = client.get("/docs").text
        for script in re.findall(r'<script src="([^"]+)"', html):
            assert client.get(script).status_code == 200, script


def test_keys_in_the_cookie_count_against_the_auth_throttle(tmp_path: Path) -> None:
    """A cookie of guessed keys is throttled like a Bearer header of one, per key, and
    the spent budget holds for the client's API calls too."""
    with run_server(tmp_path, "sqlite", auth_failures_per_minute=3) as server:
        guesses = ".".join(generate_key("full")[1] for _ in range(2))
        with browser(server.url) as client:
            # Set on every request: each answer clears the cookie, as a browser would.
            answers = [
                client.get("/signin", headers={"cookie": f"hk_keys={guesses}"})
                for _ in range(4)
            ]
            statuses = [a.status_code for a in answers]
            assert statuses[0] == 303 and 429 in statuses, statuses
            refused = answers[statuses.index(429)]
            assert int(refused.headers["retry-after"]) > 0
            assert "text/html" in refused.headers["content-type"]
        with server.client() as api:  # a valid key, from the same client
            assert api.get("/events").status_code == 429


def test_a_project_of_no_key_is_not_found(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        answer = client.get(f"/p/{seeded.second_project_id}/sessions")
        assert answer.status_code == 404
        assert "text/html" in answer.headers["content-type"]


def test_pages_carry_security_headers(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        for path in (f"/p/{seeded.project_id}/sessions", "/signin", "/nonexistent-asset"):
            answer = client.get(path if path != "/nonexistent-asset" else "/signin")
            csp = answer.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert answer.headers["x-frame-options"] == "DENY"
        html = client.get(f"/p/{seeded.project_id}/sessions").text
        assert "<script>" not in html  # only <script src=...>, no inline code
        assert re.search(r"<script src=\"/assets/app\.js\?v=[0-9a-f]+\"", html)
        css = client.get(re.search(r'href="(/assets/app\.css\?v=[0-9a-f]+)"', html).group(1))  # type: ignore[union-attr]
        assert css.status_code == 200 and "immutable" in css.headers["cache-control"]


def test_sessions_list_without_javascript(seeded: Seeded) -> None:
    base = f"/p/{seeded.project_id}/sessions"
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(base).text
        for name in ("checkout-flow", "batch-job-0", "batch-job-5"):
            assert name in html
        assert "alice" in html  # user
        staging = client.get(
            base, params={"f": "source", "op": "is", "v": "staging", "t": "string"}
        )
        assert "batch-job-1" in staging.text and "batch-job-0" not in staging.text
        assert "checkout-flow" not in staging.text
        search = client.get(base, params={"q": "parcel"}).text
        assert "checkout-flow" in search and "batch-job-1" not in search
        errors = client.get(base, params={"sort": "error_count", "order": "desc"}).text
        assert errors.index("checkout-flow") < errors.index("batch-job-0")
        bad = client.get(
            base, params={"f": "metadata.cost", "op": "greater than", "v": "x", "t": "number"}
        )
        assert bad.status_code == 200 and "must be a number" in bad.text


def test_sessions_list_pages_without_counting(seeded: Seeded) -> None:
    base = f"/p/{seeded.project_id}/sessions"
    with signed_in(seeded.url, seeded.key) as client:
        first = client.get(
            base,
            params={
                "limit": "25",
                "f": "event_name",
                "op": "contains",
                "v": "batch-job",
                "t": "string",
            },
        )
        assert 'rel="next"' not in first.text  # six sessions fit one page
        ids = re.findall(r'data-session-id="([^"]+)"', first.text)
        assert len(ids) == 6


def test_session_page_without_javascript(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(
            seeded.session_url("checkout"), params={"event": seeded.events["model"]}
        ).text
        for name in ("answer-question", "openai.chat", "track_parcel", "notify_customer"):
            assert name in html
        assert 'role="tree"' in html and 'role="treeitem"' in html
        assert "Where is my parcel 42?" in html  # the chat
        assert "You are a parcel assistant." in html
        assert "track_parcel" in html and "&#34;parcel&#34;: 42" in html  # the tool call, parsed
        assert "gpt-4o-mini" in html and "temperature" in html
        broken = client.get(
            seeded.session_url("checkout"), params={"event": seeded.events["broken"]}
        )
        assert "SMTPError: connection refused" in broken.text and "error-box" in broken.text
        missing = client.get(seeded.session_url("checkout"), params={"event": "nope"})
        assert missing.status_code == 404


def test_unmapped_attributes_are_shown(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(f"/p/{seeded.project_id}/sessions/{seeded.sessions['otlp']}").text
        event_id = re.findall(r'\?event=([^&"]+)&amp;start=0', html)[1]
        detail = client.get(f"/p/{seeded.project_id}/events/{event_id}/detail").text
        assert "Unmapped attributes" in detail and "warehouse.shelf" in detail and "B-17" in detail


@pytest.mark.parametrize("where", ["list", "session", "detail", "events", "dashboard"])
def test_hostile_content_is_escaped(seeded: Seeded, where: str) -> None:
    hostile = seeded.sessions["hostile"]
    pages = {
        "list": f"/p/{seeded.project_id}/sessions",
        "session": f"/p/{seeded.project_id}/sessions/{hostile}",
        "detail": f"/p/{seeded.project_id}/events/{hostile}/detail",
        "events": f"/p/{seeded.project_id}/events?col=event_name&col=inputs&col=error",
        "dashboard": f"/p/{seeded.project_id}/dashboard?split=event_name",
    }
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(pages[where]).text
        assert RAW_SCRIPT not in html
        assert 'onerror="window' not in html
        assert "&lt;script&gt;window.__pwned" in html


def test_outline_json_is_compact_and_ordered(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        answer = client.get(f"{seeded.session_url('checkout')}/outline.json")
        data = answer.json()
        names = [row[5] for row in data["rows"]]
        assert names == [
            "checkout-flow",
            "answer-question",
            "openai.chat",
            "track_parcel",
            "notify_customer",
        ]
        depths = [row[2] for row in data["rows"]]
        assert depths == [0, 1, 2, 2, 1]
        assert data["rows"][4][8] == 1  # the error flag


def test_feedback_is_stored_through_the_writer(seeded: Seeded) -> None:
    event_id = seeded.events["chain"]
    with signed_in(seeded.url, seeded.key) as client:
        page = client.get(seeded.session_url("checkout"), params={"event": event_id})
        back = f"/p/{seeded.project_id}/sessions/{seeded.sessions['checkout']}?event={event_id}"
        answer = client.post(
            f"/p/{seeded.project_id}/events/{event_id}/feedback",
            data={"csrf": csrf_of(page.text), "rating": "4", "comment": "good chain", "next": back},
        )
        assert answer.status_code == 303 and answer.headers["location"] == back
    with seeded.server.client() as api:
        stored = api.get(f"/v1/events/{event_id}").json()["event"]
        assert stored["feedback"] == {"rating": 4, "comment": "good chain"}
        found = api.post(
            "/v1/events/export",
            json={
                "filters": [
                    {"field": "feedback.rating", "operator": "is", "value": 4, "type": "number"}
                ]
            },
        ).json()
        assert [e["event_id"] for e in found["events"]] == [event_id]


def test_exports_stream_the_filtered_view(seeded: Seeded) -> None:
    base = f"/p/{seeded.project_id}/events"
    filters = {"type": "tool", "col": ["event_name", "error"]}
    with signed_in(seeded.url, seeded.key) as client:
        jsonl = client.get(f"{base}/export.jsonl", params={"type": "tool"})
        assert jsonl.status_code == 200
        assert "attachment" in jsonl.headers["content-disposition"]
        events = [orjson.loads(line) for line in jsonl.text.splitlines()]
        assert {e["event_name"] for e in events} == {
            "track_parcel",
            "notify_customer",
            "otlp-lookup",
        }
        assert all(e["event_type"] == "tool" and "inputs" in e for e in events)
        projected = client.get(f"{base}/export.jsonl", params=filters)
        assert all(
            set(orjson.loads(x)) <= {"event_id", "event_name", "error"}
            for x in projected.text.splitlines()
        )
        table = client.get(f"{base}/export.csv", params=filters)
        rows = list(csv.reader(io.StringIO(table.text)))
        assert rows[0] == ["event_id", "session_id", "event_name", "error"]
        by_name = {r[2]: r for r in rows[1:]}
        assert by_name["notify_customer"][3] == "SMTPError: connection refused"
        assert len(rows) == 4
        bad = client.get(f"{base}/export.csv", params={"col": "a..b"})
        assert bad.status_code == 400


def test_dashboard_draws_svg_charts(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(f"/p/{seeded.project_id}/dashboard", params={"split": "model"}).text
        assert html.count('<svg class="chart"') == 5
        for title in ("Requests", "Error rate", "Latency p95", "Tokens", "Cost"):
            assert f"<figcaption>{title}</figcaption>" in html
        assert "gpt-4o-mini: 1" in html  # a bucket's tooltip (SVG <title>)
        assert "<title>" in html


def test_project_switcher_lists_every_signed_in_project(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        form = client.get("/signin")
        assert "Add a project" in form.text
        added = client.post(
            "/signin",
            data={"key": seeded.second_key, "csrf": csrf_of(form.text)},
            headers={"origin": seeded.url},
        )
        assert added.headers["location"] == f"/p/{seeded.second_project_id}/sessions"
        second = client.get(added.headers["location"]).text
        assert "second-project-run" in second and "checkout-flow" not in second
        assert f'href="/p/{seeded.project_id}/sessions"' in second
        first = client.get(f"/p/{seeded.project_id}/sessions").text
        assert "checkout-flow" in first and HOSTILE not in first


def test_the_cookie_is_secure_over_https(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "sqlite")
    store = open_store(settings.database_url)
    store.open()
    key = store.bootstrap().new_key_secret
    assert key is not None
    app = create_app(settings, store=store)
    with TestClient(app, base_url="https://ui.example", follow_redirects=False) as client:
        answer = sign_in(client, key)
        assert answer.status_code == 303
        assert "Secure" in answer.headers["set-cookie"]
        # A POST from the page's own https origin passes the Origin check.
        page = client.get(answer.headers["location"])
        token = csrf_of(page.text)
        out = client.post(
            "/signout", data={"csrf": token}, headers={"origin": "https://ui.example"}
        )
        assert out.status_code == 303 and "Secure" in out.headers["set-cookie"]
