"""Logs: one JSON object a line (or plain text for a person at a terminal), every line written
while a request is handled carrying that request's id.

The id is the client's `X-Request-ID` when it sends a sane one (nginx's `$request_id`, a load
balancer's), else a new random one; the response echoes it, so a resident's "it failed at
10.41" and an operator's log line meet. It lives in a context variable, so every log call made
while the request runs (in its task and in the tasks it starts) gets it without being passed
around.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import uuid

from aiohttp import web

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KEY = web.RequestKey("request_id", str)
# Ids from outside are echoed into headers and logs: word characters, dots and dashes only.
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
log = logging.getLogger(__name__)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", "-") != "-":
            entry["request_id"] = record.request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def make_handler(log_format: str, stream=None) -> logging.Handler:
    """A handler writing `log_format` lines (to stderr unless told otherwise)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    text = logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(JsonFormatter() if log_format == "json" else text)
    return handler


def configure(log_format: str) -> None:
    """For the command line: the root logger writes INFO and up in `log_format`."""
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(make_handler(log_format))
    root.setLevel(logging.INFO)


@web.middleware
async def with_request_id(request: web.Request, handler) -> web.StreamResponse:
    """Outermost: everything inside logs with the id. An unexpected error is logged here, while
    the id is still current, and answered 500 (aiohttp would log it after the request)."""
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    rid = supplied if _SANE_ID.match(supplied) else uuid.uuid4().hex
    request[REQUEST_ID_KEY] = rid
    token = request_id.set(rid)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("Unhandled error in %s %s", request.method, request.path)
        raise web.HTTPInternalServerError() from None
    finally:
        request_id.reset(token)


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, streamed ones and WebSocket upgrades included."""
    rid = request.get(REQUEST_ID_KEY)
    if rid is not None:
        response.headers.setdefault(REQUEST_ID_HEADER, rid)
