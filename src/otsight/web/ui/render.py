"""Templates to responses: Jinja2 with autoescaping everywhere, and strict security headers.

Asset names, hostnames and alert titles come off the network and may hold markup; every
template escapes every value, and the Content-Security-Policy allows only this server's own
scripts and styles, so even a slip would not run a script.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from ... import __version__
from . import fmt, palette

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

env = Environment(
    loader=PackageLoader("otsight.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(fmt.FILTERS)
env.globals.update(
    version=__version__,
    asset_url=fmt.asset_url,
    alert_url=fmt.alert_url,
    technique_url=fmt.technique_url,
    display_name=fmt.display_name,
    role_label=palette.role_label,
    role_class=palette.role_class,
    role_glyph=palette.role_glyph,
    level_label=palette.level_label,
    protocol_class=palette.protocol_class,
    severity_class=palette.severity_class,
    status_class=palette.status_class,
)


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with ``context`` (plus the request path for the navigation)."""
    html = env.get_template(template).render(path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)
