"""The JSON API's route table and its OpenAPI document, built from the same declarations."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.auth import requires
from server.domain.roles import Role
from server.schemas import json_schema

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    ) -> Callable[[Handler], Handler]:
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
                )
            )
            return wrapped

        return register

    def install(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.path, op.handler)

    def document(self) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(re.sub(r"\{(\w+):[^}]+\}", r"{\1}", op.path), {})[
                op.method.lower()
            ] = self._operation(op)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {
                "securitySchemes": {
                    "session": {"type": "apiKey", "in": "cookie", "name": "sidang_session"},
                    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                }
            },
        }

    def _operation(self, op: Operation) -> dict[str, Any]:
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in _path_params(op.path)
        ]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in op.query.items()
        ]
        responses = {str(code): {"description": text} for code, text in op.responses.items()}
        responses.setdefault("200", {"description": "OK"})
        spec: dict[str, Any] = {
            "summary": op.summary,
            "operationId": op.handler.__name__,
            "responses": responses,
        }
        if parameters:
            spec["parameters"] = parameters
        if op.body is not None:
            media = "application/json" if op.body_kind == "json" else "multipart/form-data"
            schema = json_schema(op.body)
            if op.body_kind == "multipart":
                schema["properties"]["file"] = {"type": "string", "format": "binary"}
                schema.setdefault("required", []).append("file")
            spec["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
        if op.roles is not None:
            spec["security"] = [{"session": [], "csrf": []}]
            spec["x-roles"] = sorted(r.value for r in op.roles)
            responses.setdefault("401", {"description": "Belum masuk"})
            responses.setdefault("403", {"description": "Peran tidak berwenang"})
        if op.body is not None:
            responses.setdefault("400", {"description": "Data tidak valid"})
        return spec


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]
