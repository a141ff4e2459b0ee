"""A browser-less UI client: httpx with a cookie jar, signing in through the real form."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form token"
    return match.group(1)


def browser(url: str) -> httpx.Client:
    """A client that, like a browser, keeps cookies; redirects are not followed, so
    tests see them."""
    return httpx.Client(base_url=url, timeout=30, follow_redirects=False)


def sign_in(client: httpx.Client, key: str, next_path: str = "") -> httpx.Response:
    """Fill in and send the sign-in form; the answer (a 303 when it worked)."""
    form = client.get("/signin")
    assert form.status_code == 200, form.text
    return client.post(
        "/signin",
        data={"key": key, "csrf": csrf_of(form.text), "next": next_path},
        headers={"origin": f"{client.base_url.scheme}://{client.base_url.netloc.decode()}"},
    )


@contextlib.contextmanager
def signed_in(url: str, key: str) -> Iterator[httpx.Client]:
    with browser(url) as client:
        answer = sign_in(client, key)
        assert answer.status_code == 303, answer.text
        yield client
