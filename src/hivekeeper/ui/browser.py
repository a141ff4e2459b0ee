"""What UI routes share below the templates: security headers, redirects, form bodies."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import PayloadTooLarge, ValidationFailed


def content_security_policy(*, style_nonce: str | None = None, blob_workers: bool = False) -> str:
    """The pages' CSP. `style_nonce` also admits `<style>` elements carrying that nonce
    and `blob_workers` workers our scripts start from `blob:` URLs (ReDoc does both)."""
    # `style-src 'self'` forbids style attributes in markup: positions are SVG attributes
    # server-side and CSSOM properties in JS, both of which the policy allows.
    style = f"'self' 'nonce-{style_nonce}'" if style_nonce else "'self'"
    workers = "; worker-src 'self' blob:" if blob_workers else ""
    return (
        f"default-src 'self'; script-src 'self'; style-src {style}; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        f"object-src 'none'{workers}"
    )


CSP = content_security_policy()
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# A sign-in or feedback form is a few hundred bytes; anything near this is not ours.
MAX_FORM_BYTES = 64 * 1024


class Redirect(Exception):
    """Answer with a 303 to `url`; `sign_out` also clears the session cookie."""

    def __init__(self, url: str, *, sign_out: bool = False) -> None:
        super().__init__(url)
        self.url = url
        self.sign_out = sign_out


def secure(response: Response) -> Response:
    """Add the security headers (CSP, no framing, no sniffing) to `response`."""
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as {name: last value}.

    Parsed here rather than by Starlette, whose form parser reads multipart bodies
    (only the import's upload is one). Raises PayloadTooLarge past `max_bytes` (forms
    carrying datapoints or prompts pass the API's body limit), ValidationFailed for
    another type.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ValidationFailed("expected a form (application/x-www-form-urlencoded)")
    body = bytearray()  # grown in place: a 20 MB form must not be copied per chunk
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"a form is at most {max_bytes} bytes")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise ValidationFailed("the form is not UTF-8") from None
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def with_query(path: str, **params: str | None) -> str:
    """`path` with the non-empty `params` as its query string."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def safe_next(raw: str | None, default: str) -> str:
    """A local path to go to after a form: `raw` if it is one, else `default`.

    Refuses absolute and scheme-relative URLs (`//evil`, `/\\evil`), so a crafted link
    cannot send a user elsewhere after they sign in.
    """
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 for ch in raw):
        return default
    return raw
