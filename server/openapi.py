"""The JSON API's route table and its OpenAPI document, built from the same declarations.

Each operation documents every status it can answer: its own (`responses`), and those that follow
from its shape (a path id, a role, a body, a query) through the one domain-error mapping in
server/middlewares.py, so a schemathesis run finds no status the document does not declare.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.auth import requires
from server.domain.errors import (
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
)
from server.domain.roles import Role
from server.edge import MAX_ID
from server.middlewares import SAFE_METHODS, STATUS_FOR_ERROR

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Request bodies by `body_kind`: a pydantic model as JSON or as form fields with a file, or text.
MEDIA_TYPES = {
    "json": "application/json",
    "multipart": "multipart/form-data",
    "webvtt": "text/vtt",
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Pesan untuk orang (Bahasa Indonesia, atau Inggris dengan ?lang=en)",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "Masalah per kolom",
            "additionalProperties": {"type": "string"},
        },
    },
}
ERROR_RESPONSE = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
ANY_OBJECT = {"type": "object"}
PATH_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    handler: Handler
    body: type | None = None
    body_kind: str = "json"
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: frozenset[Role] | None = None
    responses: dict[int, str] = field(default_factory=dict)
    returns: dict[str, Any] = field(default_factory=lambda: ANY_OBJECT)


class ApiRoutes:
    def __init__(self, title: str, version: str) -> None:
        self.title = title
        self.version = version
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type | None = None,
        body_kind: str = "json",
        query: dict[str, dict[str, Any]] | None = None,
        roles: Iterable[Role] | None = None,
        responses: dict[int, str] | None = None,
        returns: dict[str, Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        """`returns` is the JSON Schema of a success body, where a contract fixes its shape."""

        def register(handler: Handler) -> Handler:
            wrapped = requires(roles)(handler) if roles is not None else handler
            self.operations.append(
                Operation(
                    method,
                    path,
                    summary,
                    wrapped,
                    body,
                    body_kind,
                    query or {},
                    frozenset(roles) if roles is not None else None,
                    responses or {},
                    returns or ANY_OBJECT,
                )
            )
            return wrapped

        return register

    def install(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.path, op.handler)

    def document(self) -> dict[str, Any]:
        """Each body's JSON Schema is pydantic's; what it refers to (the enums) is a component."""
        paths: dict[str, dict[str, Any]] = {}
        schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
        for op in self.operations:
            paths.setdefault(re.sub(r"\{(\w+):[^}]+\}", r"{\1}", op.path), {})[
                op.method.lower()
            ] = self._operation(op, schemas)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "session": {"type": "apiKey", "in": "cookie", "name": "sidang_session"},
                    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                },
            },
        }

    def _operation(self, op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": PATH_ID}
            for name in _path_params(op.path)
        ]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in op.query.items()
        ]
        spec: dict[str, Any] = {
            "summary": op.summary,
            "operationId": op.handler.__name__,
            "responses": _responses(op),
        }
        if parameters:
            spec["parameters"] = parameters
        if op.body is not None:
            spec["requestBody"] = {
                "required": True,
                "content": {MEDIA_TYPES[op.body_kind]: {"schema": _body_schema(op, schemas)}},
            }
        if op.roles is not None:
            spec["security"] = [{"session": [], "csrf": []}]
            spec["x-roles"] = sorted(r.value for r in op.roles)
        return spec


def _responses(op: Operation) -> dict[str, Any]:
    """The operation's own statuses, then those its shape implies, each with its body."""
    statuses = {**_implied_statuses(op), **op.responses}
    if not any(200 <= code < 300 for code in statuses):
        statuses[200] = "OK"
    responses: dict[str, Any] = {}
    for code, text in sorted(statuses.items()):
        responses[str(code)] = {"description": text}
        if code >= 400:
            responses[str(code)]["content"] = ERROR_RESPONSE
        elif code != 204:
            responses[str(code)]["content"] = {"application/json": {"schema": op.returns}}
    return responses


def _implied_statuses(op: Operation) -> dict[int, str]:
    """Every request may meet an unreachable database or a full node (503); a path id may name
    nothing (404); a role check refuses strangers (401) and other roles (403), as the CSRF check
    refuses a write without its token (403); a body or a query may be invalid (400), a body may
    be too big (413)."""
    errors: list[tuple[type[DomainError], str]] = [
        (
            StorageUnavailable,
            "Basis data atau penyimpanan sedang tidak tersedia (atau node penuh: "
            "503 tanpa badan sebelum permintaan dibaca)",
        )
    ]
    if _path_params(op.path):
        errors.append((NotFound, NotFound.message))
    if op.roles is not None:
        errors.append((NotAuthenticated, "Belum masuk"))
    if op.roles is not None or op.method not in SAFE_METHODS:
        errors.append((PermissionDenied, "Peran tidak berwenang, atau token CSRF tidak valid"))
    if op.body is not None or op.query:
        errors.append((InvalidInput, InvalidInput.message))
    statuses = {_status(error): text for error, text in errors}
    if op.body is not None:
        statuses[413] = "Badan permintaan melebihi batas ukuran unggahan"
    return statuses


def _status(error: type[DomainError]) -> int:
    return next(code for cls, code in STATUS_FOR_ERROR if issubclass(error, cls))


def _body_schema(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    if op.body_kind == "webvtt":
        return {"type": "string", "description": "Berkas WebVTT (UTF-8)"}
    schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    if op.body_kind == "multipart":
        schema["properties"]["file"] = {"type": "string", "format": "binary"}
        schema.setdefault("required", []).append("file")
    return schema


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]
