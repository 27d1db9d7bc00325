"""A call of the API as data (sans-IO): endpoint, validated query and body, result parser.

Building a `Call` validates everything against the spec, so a bad argument
raises `V2CValidationError` before any request exists. Both clients only
execute calls; neither builds or checks a request itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from adapters.v2c_cloud import models as m
from adapters.v2c_cloud.endpoints import Endpoint, endpoint, endpoints
from adapters.v2c_cloud.models import ResultParser
from adapters.v2c_cloud.validation import build_body, build_query

T = TypeVar("T")

RESULT_PARSERS: Mapping[str, ResultParser] = {
    "currentstatecharge": m.CurrentStateCharge.from_api,
    "reported": m.Reported.from_api,
    "connected": m.Connected.from_api,
    "wifilist": m.WifiNetwork.list_from_api,
    "rfid_list": m.RfidCard.list_from_api,
    "stadistic_device": m.ChargeStatistic.list_from_api,
    "stadistic_global_me": m.GlobalStatistic.list_from_api,
    "personalicepower_get": m.PowerProfile.from_api,
    "personalicepower_all": m.PowerProfile.list_from_api,
    "version": m.FirmwareVersion.from_api,
    "pairings_me": m.Pairing.list_from_api,
}
"""Parsers of the operations that return data; every other operation is a command."""


def result_parser(operation_id: str) -> ResultParser:
    """The parser of an operation's answer (`CommandResult.from_api` for commands)."""
    endpoint(operation_id)  # unknown ids fail here, not at parse time
    return RESULT_PARSERS.get(operation_id, m.CommandResult.from_api)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One validated call: what to send and how to read the answer."""

    endpoint: Endpoint
    query: Mapping[str, str]
    body: Mapping[str, Any] | None
    parse: Callable[[object], T] = field(repr=False)

    @property
    def device_id(self) -> str | None:
        """The device this call addresses (from `deviceId` or `id`), if any."""
        name = self.endpoint.device_param
        return None if name is None else self.query.get(name)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Query values that must never appear in text (the WiFi password)."""
        return tuple(
            self.query[p.name]
            for p in self.endpoint.parameters
            if p.secret and p.name in self.query
        )

    def __repr__(self) -> str:
        shown = {k: ("***" if v in self.secrets else v) for k, v in self.query.items()}
        return f"Call({self.endpoint.operation_id}, query={shown}, body={self.body})"


def build_call(
    operation_id: str,
    query: Mapping[str, object] | None = None,
    body: Mapping[str, Any] | None = None,
) -> Call[Any]:
    """Validate arguments (API names and units) for `operation_id` and return the call.

    Raises V2CValidationError for anything the spec refuses; KeyError for an
    unknown operation.
    """
    ep = endpoint(operation_id)
    return Call(
        endpoint=ep,
        query=build_query(ep, query or {}),
        body=build_body(ep, body),
        parse=result_parser(operation_id),
    )


def typed_call(operation_id: str, parse: Callable[[object], T], **query: object) -> Call[T]:
    """Like `build_call` with a typed parser (used by `Operations`)."""
    ep = endpoints()[operation_id]
    return Call(endpoint=ep, query=build_query(ep, query), body=None, parse=parse)


def typed_call_with_body(
    operation_id: str,
    parse: Callable[[object], T],
    body: Mapping[str, Any],
    **query: object,
) -> Call[T]:
    """Like `typed_call`, with a JSON body."""
    ep = endpoints()[operation_id]
    return Call(endpoint=ep, query=build_query(ep, query), body=build_body(ep, body), parse=parse)
