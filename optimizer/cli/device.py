"""`v2c-solar device ...`: one command per V2C Cloud endpoint, generated from the spec.

Command names follow the reference's paths (`intensity`, `currentstatecharge`,
`denka-max-power`, `rfid-learn`, ...), options the query parameters in API
units (`--device-id` for both `deviceId` and `id`, `--value`, `--kw`,
`--minutes`, ...) plus the JSON body fields (`--start-time`, `--active`, ...).
The answer is printed as JSON in SI units (W, Wh, A, V, s).

The key comes from `V2C_API_KEY`, the server from `--base-url` or
`V2C_BASE_URL`. Bad arguments: a one-line error, exit code 2, no call made.
API errors: a one-line error, exit code 1. Tests replace `make_client`.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
from pydantic import BaseModel

from adapters.v2c_cloud import (
    DEFAULT_BASE_URL,
    Endpoint,
    V2CClient,
    V2CError,
    V2CValidationError,
    build_call,
    endpoints,
)

BASE_URL_ENV = "V2C_BASE_URL"

app = typer.Typer(no_args_is_help=True)
"""Registered by `optimizer.cli.main`, which holds its help (listed without importing this)."""


def make_client(base_url: str) -> V2CClient:
    """The client the commands use (key from `V2C_API_KEY`); tests monkeypatch this."""
    return V2CClient(base_url=base_url)


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One CLI option and where its value goes (`query` or `body`, under `api_name`)."""

    py_name: str
    api_name: str
    flag: str
    where: str
    required: bool
    type: str  # the JSON type: "string" for every query value
    help: str

    @property
    def is_bool(self) -> bool:
        """A `--flag/--no-flag` option."""
        return self.type == "boolean"


def _kebab(api_name: str) -> str:
    if api_name in ("deviceId", "id"):
        return "device-id"
    return re.sub(r"(?<!^)(?=[A-Z])", "-", api_name).replace("_", "-").lower()


def option_specs(ep: Endpoint) -> list[OptionSpec]:
    """The options of the command for `ep`: query parameters, then body fields."""
    specs: list[OptionSpec] = []
    for p in ep.parameters:
        choices = f" One of {', '.join(p.enum)}." if p.enum else ""
        example = f" Example: {p.example}." if p.example and not p.secret else ""
        flag = _kebab(p.name)
        specs.append(
            OptionSpec(
                py_name=flag.replace("-", "_"),
                api_name=p.name,
                flag=f"--{flag}",
                where="query",
                required=p.required,
                type="string",
                help=f"{p.description}{choices}{example} (query `{p.name}`)",
            )
        )
    for f in ep.body_fields or ():
        flag = _kebab(f.name)
        example = f" Example: {json.dumps(f.example)}." if f.example is not None else ""
        specs.append(
            OptionSpec(
                py_name=flag.replace("-", "_"),
                api_name=f.name,
                flag=f"--{flag}/--no-{flag}" if f.type == "boolean" else f"--{flag}",
                where="body",
                required=f.required,
                type=f.type,
                help=f"{f.description or f.type}{example} (JSON body `{f.name}`)",
            )
        )
    names = [s.py_name for s in specs]
    if len(names) != len(set(names)):
        raise RuntimeError(f"{ep.operation_id}: two options map to the same CLI name: {names}")
    return specs


def _body_value(spec: OptionSpec, raw: object) -> object:
    """Body integers arrive as text from the command line; convert them, or explain."""
    if spec.type == "integer" and isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            raise V2CValidationError(f"{spec.flag} must be a whole number, got {raw!r}") from None
    return raw


def to_jsonable(result: object) -> object:
    """A typed result as plain JSON data (models dumped in JSON mode, lists element-wise)."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [to_jsonable(item) for item in result]
    return result


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run_command(
    ep: Endpoint, specs: list[OptionSpec], values: dict[str, Any], base_url: str
) -> None:
    """Validate (exit 2, nothing sent), call (exit 1 on API errors), print JSON."""
    query: dict[str, object] = {}
    body: dict[str, object] = {}
    try:
        for spec in specs:
            raw = values.get(spec.py_name)
            if raw is None:
                if spec.required:
                    raise V2CValidationError(f"{ep.command}: {spec.flag.split('/')[0]} is required")
                continue
            if spec.where == "query":
                query[spec.api_name] = raw
            else:
                body[spec.api_name] = _body_value(spec, raw)
        call = build_call(ep.operation_id, query, body if ep.body_fields is not None else None)
        client = make_client(base_url)
    except V2CValidationError as exc:
        raise _fail(str(exc), 2) from None
    try:
        with client:
            result = client.send(call)
    except V2CError as exc:
        raise _fail(str(exc), 1) from None
    typer.echo(json.dumps(to_jsonable(result), indent=2, ensure_ascii=False))


def _command_help(ep: Endpoint) -> str:
    source = (
        " The reference omits this path; it follows a public client of the API."
        if ep.source == "practice"
        else ""
    )
    return f"{ep.description}\n\nSends {ep.method} {ep.path}.{source}"


def build_command(ep: Endpoint) -> Callable[..., None]:
    """A typer command function for `ep`, its signature generated from the spec."""
    specs = option_specs(ep)

    def command(**values: Any) -> None:
        base_url = values.pop("base_url")
        run_command(ep, specs, values, base_url)

    params = [
        inspect.Parameter(
            spec.py_name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None,
                *spec.flag.split("/") if not spec.is_bool else [spec.flag],
                help=spec.help + (" Required." if spec.required else ""),
                show_default=False,
            ),
            annotation=bool | None if spec.is_bool else str | None,
        )
        for spec in specs
    ]
    params.append(
        inspect.Parameter(
            "base_url",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                DEFAULT_BASE_URL, "--base-url", envvar=BASE_URL_ENV, help="API base URL."
            ),
            annotation=str,
        )
    )
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = ep.operation_id
    command.__doc__ = _command_help(ep)
    return command


def _register_all() -> None:
    for ep in endpoints().values():
        app.command(name=ep.command, short_help=ep.summary, help=_command_help(ep))(
            build_command(ep)
        )


_register_all()
