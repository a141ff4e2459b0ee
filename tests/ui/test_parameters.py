"""Bad page parameters: a 400 that names the parameter, never a 500 or a silent default."""

from __future__ import annotations

import re

import pytest

from tests.ui.client import signed_in
from tests.ui.conftest import Seeded

HUGE = "9" * 5000  # past Python's 4300-digit limit for int(str)


def _alert(html: str) -> str:
    match = re.search(r'<p class="error" role="alert"[^>]*>([^<]*)</p>', html)
    assert match, "the page shows no error"
    return match.group(1)


@pytest.mark.parametrize("section", ["sessions", "events"])
@pytest.mark.parametrize("page", [str(10**20), str(2**63), HUGE, "0", "-1", "two", "1.5"])
def test_a_page_number_that_is_not_one_is_refused(seeded: Seeded, section: str, page: str) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        answer = client.get(f"/p/{seeded.project_id}/{section}", params={"page": page})
        assert answer.status_code == 400, answer.text[:300]
        assert answer.headers["content-type"].startswith("text/html")
        message = _alert(answer.text)
        assert message.startswith("page must be")
        assert len(message) < 300  # the 5000 digits are not echoed back


@pytest.mark.parametrize("section", ["sessions", "events"])
def test_long_page_numbers_with_leading_zeros_are_pages(seeded: Seeded, section: str) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        answer = client.get(f"/p/{seeded.project_id}/{section}", params={"page": "0" * 5000 + "1"})
        assert answer.status_code == 200
        assert "page 1" in answer.text


@pytest.mark.parametrize(
    "params",
    [
        {"to": "9999-12-31", "bucket": "month"},
        {"from": "9990-01-01", "to": "9999-12-31", "bucket": "month"},
        {"from": "9999-12-01", "to": "9999-12-31T23:59:59.999", "bucket": "week"},
        {"from": "9999-12-31", "to": "9999-12-31T23:59:59.999", "bucket": "day"},
        {"from": "1970-01-01", "to": "9999-12-31"},
    ],
)
def test_the_dashboard_reaches_the_end_of_year_9999(seeded: Seeded, params: dict[str, str]) -> None:
    with signed_in(seeded.url, seeded.key) as client:
        answer = client.get(f"/p/{seeded.project_id}/dashboard", params=params)
        assert answer.status_code == 200, answer.text[:300]
        assert answer.text.count('<svg class="chart"') == 5


def test_the_last_month_of_year_9999_is_a_bucket(seeded: Seeded) -> None:
    params = {"from": "9999-10-01", "to": "9999-12-31T23:59:59.999", "bucket": "month"}
    with signed_in(seeded.url, seeded.key) as client:
        html = client.get(f"/p/{seeded.project_id}/dashboard", params=params).text
        assert "9999-12 UTC" in html  # a hover band's title
        assert "10000" not in html


@pytest.mark.parametrize(
    ("section", "params", "named"),
    [
        ("sessions", {"sort": "colour"}, "sort"),
        ("events", {"order": "sideways"}, "order"),
        ("events", {"from": "9" * 5000}, "from"),
        ("dashboard", {"to": "10000-01-01"}, "to"),
        ("dashboard", {"bucket": HUGE}, "bucket"),
        ("sessions", {"f": "metadata.cost", "op": "is", "v": HUGE, "t": "number"}, "filter 1"),
    ],
)
def test_bad_form_values_are_shown_beside_the_form(
    seeded: Seeded, section: str, params: dict[str, str], named: str
) -> None:
    """The form comes back with a short message naming the field, to be corrected."""
    with signed_in(seeded.url, seeded.key) as client:
        answer = client.get(f"/p/{seeded.project_id}/{section}", params=params)
        assert 'id="query"' in answer.text and 'id="query-error"' in answer.text
        message = _alert(answer.text)
        assert message.startswith(named) and len(message) < 300, message
