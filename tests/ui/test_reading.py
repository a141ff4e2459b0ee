"""Reading sessions without a browser (issue 16): list rows that differ, numbers that
agree, and what a session page shows."""

from __future__ import annotations

import re

from hivekeeper.ui.previews import COUNT_BOUND, bounded_count, input_text, output_text
from tests.ui.client import signed_in
from tests.ui.conftest import Seeded


def _row_html(html: str, session_id: str) -> str:
    match = re.search(rf'<tr data-session-id="{session_id}".*?</tr>', html, re.DOTALL)
    assert match, f"no row for {session_id}"
    return match.group(0)


def test_list_rows_show_previews_short_ids_users_and_a_match_count(seeded: Seeded) -> None:
    base = f"/p/{seeded.project_id}/sessions"
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(base).text
        checkout = _row_html(html, seeded.sessions["checkout"])
        assert "Where is my parcel?" in checkout  # the session's own first input
        short = seeded.sessions["checkout"][:8]
        assert f"<code>{short}</code>" in checkout
        assert f'data-copy="{seeded.sessions["checkout"]}"' in checkout
        assert "alice" in checkout
        assert "routine run 3" in _row_html(html, seeded.sessions["batch-3"])
        count = re.search(r'id="match-count">([\d,+]+) sessions match', html)
        assert count is not None and int(count.group(1)) == html.count("<tr data-session-id=")
        # A filtered list is sent first; its count follows from /session-count.
        staging = {"f": "source", "op": "is", "v": "staging"}
        html = client.get(base, params=staging).text
        count_url = re.search(r'id="match-count" data-count="([^"]+)"', html)
        assert count_url is not None
        counted = client.get(count_url.group(1).replace("&amp;", "&")).json()
        assert counted == {"count": "3", "exact": True}


def test_a_session_without_inputs_previews_its_first_and_last_events(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.reading_key) as client:
        html = client.get(f"/p/{seeded.reading_project_id}/sessions").text
        bare = _row_html(html, seeded.sessions["bare"])
        assert "book a table for two" in bare and "booked for 8 pm" in bare
        assert "plan" not in bare.split("preview in")[1].split("</span>")[0]


def test_chosen_metadata_columns_are_kept_in_the_url(seeded: Seeded) -> None:
    base = f"/p/{seeded.project_id}/sessions"
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(
            base, params=[("col", "metadata.num_events"), ("col", "user_properties.user_id")]
        ).text
        assert '<th scope="col" class="picked">metadata.num_events</th>' in html
        checkout = _row_html(html, seeded.sessions["checkout"])
        assert re.search(r'data-label="metadata.num_events" class="picked">4<', checkout)
        assert 'data-label="user_properties.user_id" class="picked">alice<' in checkout
        # The pager and the sort links carry the columns on.
        assert "col=metadata.num_events" in html.split("<thead>")[1]


def test_the_session_page_counts_events_as_the_list_does(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(seeded.session_url("checkout")).text
        assert '<span class="tree-cell">4 events</span>' in html
        listed = _row_html(client.get(f"/p/{seeded.project_id}/sessions").text,
                           seeded.sessions["checkout"])  # fmt: skip
        assert 'data-label="Events">4<' in listed


def test_counts_read_with_separators_and_a_bound() -> None:
    assert bounded_count(1234) == "1,234"
    assert bounded_count(COUNT_BOUND) == "10,000"
    assert bounded_count(COUNT_BOUND + 1) == "10,000+"


def test_previews_take_the_gist_of_inputs_and_outputs() -> None:
    chat = {"chat_history": [{"role": "system", "content": "be brief"},
                             {"role": "user", "content": "what  is\nup?"}]}  # fmt: skip
    assert input_text(chat) == "what is up?"
    assert input_text({"n": 7, "query": "weather in Oslo"}) == "weather in Oslo"
    assert input_text({"n": 7}) == '{"n":7}'
    assert output_text({"role": "assistant", "content": "hello"}) == "hello"
    assert len(output_text({"text": "x" * 500})) == 140



def _event_ids(seeded: Seeded, session: str) -> dict[str, str]:
    """Event ids of a session of the reading project, by name."""
    with seeded.server.client(seeded.reading_key) as api:
        tree = api.get(f"/v1/sessions/{seeded.sessions[session]}").json()
    ids: dict[str, str] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        ids[node["event_name"]] = node["event_id"]
        stack.extend(node.get("children", []))
    return ids


def test_an_sdk_exception_reads_as_a_stack_trace_and_counts_once(seeded: Seeded) -> None:
    ids = _event_ids(seeded, "sdk-exception")
    base = f"/p/{seeded.reading_project_id}/sessions"
    session = f"{base}/{seeded.sessions['sdk-exception']}"
    with signed_in(seeded.url, seeded.reading_key) as client:
        html = client.get(session, params={"event": ids["inner"]}).text
        box = html.split('class="error-box"')[1].split("</section>")[0]
        assert '<strong class="exc-type">ValueError</strong>' in box
        assert '<span class="exc-message">boom 3</span>' in box
        # The frames, outermost first, with their source lines: the raise is last.
        frames = re.findall(r'<code class="frame-fn">([^<]+)</code>', box)
        assert frames[-1] == "inner"
        assert "raise ValueError(f&#34;boom {n}&#34;)" in box
        outer = client.get(session, params={"event": ids["outer"]}).text
        outer_frames = re.findall(r'<code class="frame-fn">([^<]+)</code>', outer)
        assert outer_frames.index("outer") < outer_frames.index("inner")
        assert "Counted once: this repeats the error of" in outer
        listed = _row_html(client.get(base).text, seeded.sessions["sdk-exception"])
        assert '<span class="badge err">1</span>' in listed


def test_otel_bookkeeping_moves_to_a_closed_raw_section(seeded: Seeded) -> None:
    ids = _event_ids(seeded, "sdk-exception")
    session = f"/p/{seeded.reading_project_id}/sessions/{seeded.sessions['sdk-exception']}"
    with signed_in(seeded.url, seeded.reading_key) as client:
        html = client.get(session, params={"event": ids["inner"]}).text
        metadata = html.split('data-section="metadata"')[1].split("</details>")[0]
        raw = html.split('data-section="raw"')[1].split("</details>")[0]
        assert "trace_id" not in metadata and "duration_ms" not in metadata
        assert "&#34;metadata.otel&#34;" in raw and "trace_id" in raw
        assert "&#34;metadata.exceptions&#34;" in raw
        before_raw = html.split('data-section="raw"')[0]
        assert before_raw.endswith('<details class="json-section" ')  # closed: no `open`


def test_a_greater_than_filter_on_cost_works_with_the_default_type(seeded: Seeded) -> None:
    base = f"/p/{seeded.project_id}/sessions"
    cost = {"f": "metadata.cost", "op": "greater than", "v": "0.001"}
    with signed_in(seeded.url, seeded.key) as client:
        for type_ in ("auto", "string", None):  # the form's default, an old link's, none
            params = {**cost, "t": type_} if type_ else cost
            html = client.get(base, params=params).text
            assert 'id="query-error"' not in html, type_
            ids = re.findall(r'data-session-id="([^"]+)"', html)
            assert ids == [seeded.sessions["checkout"]], type_
        # A choice that really conflicts is still an error, naming the row.
        bad = client.get(base, params={**cost, "v": "cheap", "t": "number"}).text
        assert "filter 1 value must be a number" in bad
        form = client.get(base).text
        assert '<option selected>auto</option>' in form
        assert 'placeholder="e.g. 2024-05-01 09:30"' in form


def test_the_dashboard_totals_agree_with_the_sessions_list(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.reading_key) as client:
        html = client.get(f"/p/{seeded.reading_project_id}/dashboard").text
        totals = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
        # Every event type but sessions: the bare run's 2 and the SDK run's 4.
        assert totals["Requests"] == "6"
        assert totals["Sessions"] == "2"
        assert totals["Errors"] == "1 (16.7%)"  # the SDK's exception, once
        assert set(totals) == {"Requests", "Sessions", "Errors", "Tokens", "Cost", "p95 latency"}
        # Counts tick on whole numbers.
        requests = html.split("<figcaption>Requests</figcaption>")[1].split("</svg>")[0]
        y_axis = r'<text class="axis" x="52" y="[\d.]+" text-anchor="end">([^<]+)<'
        ticks = re.findall(y_axis, requests)
        assert ticks and all(re.fullmatch(r"[\d,]+", t) for t in ticks), ticks
        by_user = client.get(f"/p/{seeded.reading_project_id}/dashboard", params={"split": "user"})
        assert by_user.status_code == 200 and 'id="query-error"' not in by_user.text
