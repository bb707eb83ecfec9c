"""One error shape for every refusal: ``{"detail": "<sentence>"}``, plus ``errors`` for 422.

Store refusals map to HTTP statuses here so route code only raises what the store raises.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..store.errors import Invalid, InvalidChange, NotFound
from .schemas import Error, ValidationError

STATUS = {NotFound: 404, InvalidChange: 409, Invalid: 422}


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "request"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")).removeprefix("Value error, "),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in errors)
    return JSONResponse({"detail": detail or "invalid request", "errors": errors}, status_code=422)


async def _store(_request: Request, exc: Exception) -> JSONResponse:
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    body: dict[str, object] = {"detail": str(exc)}
    if status == 422:
        body["errors"] = []
    return JSONResponse(body, status_code=status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    for kind in STATUS:
        app.add_exception_handler(kind, _store)


# Documented on every route behind a token (404/409 are added where they can happen).
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "No token, or an invalid or revoked one"},
    403: {"model": Error, "description": "The user's role does not allow this"},
    422: {"model": ValidationError, "description": "A parameter or the body is not valid"},
}
BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "The body could not be read as JSON"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "No such thing"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Error, "description": "The change does not fit the current status"}
}
