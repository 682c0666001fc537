"""The two HTML pages the Worker itself serves, to people who hold a URL but no key: the password
form of a protected share link, and the upload page of a file request. Small and static; every
value shown is escaped, and the pages load nothing but the app's own script."""

import html
from typing import Any

from workers import Response

# No inline script, no framing, no leaking the token-bearing URL in a Referer.
_PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_FORM_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
_REQUEST_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline';"
    " form-action 'none'; frame-ancestors 'none'"
)
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}"
    "input,button{font:inherit;padding:.4rem .6rem}label{display:block;margin:.8rem 0 .3rem}"
    ".error{color:#b00020}.muted{color:#666}"
)


def human_size(size: int) -> str:
    """1000-based, as quotas and limits are configured: 100000000 -> "100 MB"."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" or value == int(value) else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def wants_html(ctx: Any) -> bool:
    accept = (ctx.header("accept") or "").lower()
    return "text/html" in accept


def password_form(error: str | None, status: int = 401, retry_after: int | None = None) -> Response:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Password required</title><style>{_STYLE}</style></head><body>"
        "<h1>This file is protected</h1><p>Enter the password you were given to download it.</p>"
        f'{message}<form method="post"><label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="off" required autofocus> '
        '<button type="submit">Download</button></form></body></html>'
    )
    headers = {**_PAGE_HEADERS, "content-security-policy": _FORM_CSP}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return Response(body, status=status, headers=headers)


def file_request_page(request: dict[str, Any], *, password_required: bool) -> Response:
    label = html.escape(request.get("label") or "Send files")
    types = ", ".join(html.escape(t) for t in request["allowed_types"])
    password = (
        '<label for="password">Password</label><input id="password" type="password" autocomplete="off">'
        if password_required
        else ""
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{label}</title><style>{_STYLE}</style>"
        '<script type="module" src="/js/file-request.js"></script></head><body>'
        f'<h1>{label}</h1><p class="muted">Files you send here go to the person who shared this page.'
        " You cannot see what anyone else sent.</p>"
        f'<p class="muted">Accepted: {types}; up to {human_size(request["max_file_size"])} each.</p>'
        f'<form id="send">{password}<label for="files">Files</label>'
        '<input id="files" type="file" multiple required> <button type="submit">Send</button></form>'
        '<ul id="sent" aria-live="polite"></ul></body></html>'
    )
    return Response(body, headers={**_PAGE_HEADERS, "content-security-policy": _REQUEST_CSP})
