"""The endpoint table, loaded from `openapi.yaml` (the single source of truth).

The client builds and validates requests from these records; the CLI generates
its commands from them; the simulator serves the same file. Nothing about a
path, a method or a parameter is written anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
"""The OpenAPI 3.1 description of the V2C Cloud API."""

DEFAULT_BASE_URL = "https://v2c.cloud/kong/v2c_service"
"""The production server; the spec's `servers[0].url`."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """One query parameter; every value travels as a string.

    `minimum`/`maximum` bound the number written in the string (from the spec's
    `x-v2c-minimum`/`x-v2c-maximum`), in `unit`. `secret` values are redacted
    from every log line and error message.
    """

    name: str
    required: bool
    description: str
    example: str | None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    format: str | None = None
    secret: bool = False


@dataclass(frozen=True, slots=True)
class BodyField:
    """One property of a JSON request body."""

    name: str
    type: str  # "string" | "integer" | "boolean"
    required: bool
    description: str = ""
    pattern: str | None = None
    min_length: int | None = None
    minimum: float | None = None
    example: Any = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation of the API.

    `read` marks reads: only those are retried (on 5xx and timeouts), since a
    repeated write could act twice. `fallback_paths` are tried once, in order,
    when `path` answers 404. `source` is "reference" or "practice" (paths the
    reference omits, taken from a public client).
    """

    operation_id: str
    method: str
    path: str
    command: str
    summary: str
    description: str
    parameters: tuple[Parameter, ...]
    body_fields: tuple[BodyField, ...] | None
    read: bool
    fallback_paths: tuple[str, ...]
    source: str
    response_schema: Mapping[str, Any]
    response_example: Any

    @property
    def device_param(self) -> str | None:
        """The query parameter naming the device (`deviceId` or `id`), if any."""
        names = {p.name for p in self.parameters}
        for candidate in ("deviceId", "id"):
            if candidate in names:
                return candidate
        return None

    def parameter(self, name: str) -> Parameter:
        """The parameter called `name`; KeyError if this endpoint has none."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"{self.operation_id} has no query parameter {name!r}")


@cache
def load_spec() -> Mapping[str, Any]:
    """The parsed OpenAPI document (cached; do not mutate)."""
    with SPEC_PATH.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def resolve(spec: Mapping[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (one level at a time, until none is left)."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _parameter(raw: Mapping[str, Any]) -> Parameter:
    schema = raw.get("schema", {})
    enum = schema.get("enum")
    example = raw.get("example")
    return Parameter(
        name=raw["name"],
        required=bool(raw.get("required", False)),
        description=str(raw.get("description", "")),
        example=None if example is None else str(example),
        enum=tuple(str(v) for v in enum) if enum else None,
        pattern=schema.get("pattern"),
        min_length=schema.get("minLength"),
        max_length=schema.get("maxLength"),
        minimum=schema.get("x-v2c-minimum"),
        maximum=schema.get("x-v2c-maximum"),
        unit=schema.get("x-v2c-unit"),
        format=schema.get("format"),
        secret=bool(schema.get("x-v2c-secret", False)),
    )


def _body_fields(spec: Mapping[str, Any], op: Mapping[str, Any]) -> tuple[BodyField, ...] | None:
    body = op.get("requestBody")
    if body is None:
        return None
    schema = resolve(spec, body["content"]["application/json"]["schema"])
    required = set(schema.get("required", []))
    return tuple(
        BodyField(
            name=name,
            type=prop["type"],
            required=name in required,
            description=str(prop.get("description", "")),
            pattern=prop.get("pattern"),
            min_length=prop.get("minLength"),
            minimum=prop.get("minimum"),
            example=prop.get("example"),
        )
        for name, prop in schema["properties"].items()
    )


def _endpoint(spec: Mapping[str, Any], path: str, method: str, op: Mapping[str, Any]) -> Endpoint:
    ok = resolve(spec, op["responses"]["200"])
    content = ok["content"]["application/json"]
    return Endpoint(
        operation_id=op["operationId"],
        method=method.upper(),
        path=path,
        command=op["x-v2c-command"],
        summary=str(op.get("summary", "")),
        description=str(op.get("description", "")),
        parameters=tuple(_parameter(resolve(spec, p)) for p in op.get("parameters", [])),
        body_fields=_body_fields(spec, op),
        read=bool(op.get("x-v2c-read", False)),
        fallback_paths=tuple(op.get("x-v2c-fallback-paths", ())),
        source=str(op.get("x-v2c-source", "reference")),
        response_schema=content["schema"],
        response_example=content.get("example"),
    )


@cache
def endpoints() -> Mapping[str, Endpoint]:
    """Every operation of the spec by `operationId`, in the spec's order."""
    spec = load_spec()
    table: dict[str, Endpoint] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            endpoint = _endpoint(spec, path, method, op)
            if endpoint.operation_id in table:
                raise ValueError(
                    f"{SPEC_PATH.name}: duplicate operationId {endpoint.operation_id!r}"
                )
            table[endpoint.operation_id] = endpoint
    return MappingProxyType(table)


def endpoint(operation_id: str) -> Endpoint:
    """The endpoint with this `operationId`; KeyError if unknown."""
    try:
        return endpoints()[operation_id]
    except KeyError:
        raise KeyError(f"unknown V2C operation {operation_id!r}") from None
