"""The OpenAPI file is complete, consistent with the reference, and usable by jsonschema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from adapters.v2c_cloud.endpoints import endpoints, load_spec, resolve
from adapters.v2c_cloud.models import CONNECTED_WORDS, CommandResult
from adapters.v2c_cloud.operations import OPERATIONS

REFERENCE = Path(__file__).parents[1] / "docs" / "v2c-cloud-api-reference.txt"
SPEC: Any = load_spec()
REGISTRY = Registry().with_resource("urn:v2c", Resource.from_contents(SPEC, DRAFT202012))


def validator(schema: Any) -> jsonschema.Draft202012Validator:
    ref = schema["$ref"].replace("#", "urn:v2c#") if "$ref" in schema else None
    return jsonschema.Draft202012Validator({"$ref": ref} if ref else schema, registry=REGISTRY)


def test_is_openapi_31_with_46_unique_operations() -> None:
    assert SPEC["openapi"].startswith("3.1")
    ops = [op for methods in SPEC["paths"].values() for op in methods.values()]
    ids = [op["operationId"] for op in ops]
    assert len(ids) == 46
    assert len(set(ids)) == 46
    assert len(endpoints()) == 46


def test_the_operations_layer_declares_exactly_the_spec_operations() -> None:
    assert list(OPERATIONS) == list(endpoints())
    for operation_id, op in OPERATIONS.items():
        assert op.operation_id == operation_id
        answers_command = endpoints()[operation_id].response_schema == {
            "$ref": "#/components/schemas/CommandResult"
        }
        assert (op.parse == CommandResult.from_api) == answers_command, operation_id


def test_reference_curl_calls_are_all_in_the_spec() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    calls = re.findall(r"curl -X '(\w+)' \\ 'https://v2c\.cloud/kong/v2c_service(/[^?']*)", text)
    assert len(calls) >= 40
    for method, path in calls:
        assert method.lower() in SPEC["paths"].get(path, {}), f"{method} {path} missing"


def test_reference_query_parameters_are_in_the_spec() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for method, path, query in re.findall(
        r"curl -X '(\w+)' \\ 'https://v2c\.cloud/kong/v2c_service(/[^?']*)\?([^']*)'", text
    ):
        op = SPEC["paths"][path][method.lower()]
        names = {p["name"] for p in op["parameters"]}
        for pair in query.split("&"):
            assert pair.split("=")[0] in names, f"{op['operationId']}: {pair}"


def test_only_the_three_omitted_paths_are_marked_as_practice() -> None:
    practice = {
        e.operation_id: (e.method, e.path) for e in endpoints().values() if e.source == "practice"
    }
    assert practice == {
        "timer": ("POST", "/device/timer"),
        "personalicepower_create": ("POST", "/device/savepersonalicepower/v2"),
        "personalicepower_update": ("POST", "/device/personalicepower/v2"),
    }


def test_security_and_error_responses() -> None:
    scheme = SPEC["components"]["securitySchemes"]["apikey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "apikey"}
    for e in endpoints().values():
        op = SPEC["paths"][e.path][e.method.lower()]
        assert {"200", "400", "401", "404", "429"} <= set(op["responses"]), e.operation_id


@pytest.mark.parametrize("operation_id", list(endpoints()))
def test_response_example_validates_against_its_schema(operation_id: str) -> None:
    e = endpoints()[operation_id]
    validator(dict(e.response_schema)).validate(e.response_example)


def test_schemas_reject_wrong_shapes() -> None:
    for schema, operation_id, power, state in (
        ("CurrentStateCharge", "currentstatecharge", "power", "charge_state"),
        ("ReportedShadow", "reported", "ChargePower", "ChargeState"),
    ):
        strings = validator({"$ref": f"#/components/schemas/{schema}"})
        good = endpoints()[operation_id].response_example
        assert strings.is_valid(good)
        assert not strings.is_valid({**good, power: 1.38})  # numbers are strings
        assert not strings.is_valid({k: v for k, v in good.items() if k != state})
    stats = validator({"$ref": "#/components/schemas/DeviceStatistics"})
    assert not stats.is_valid({"id": 1})  # an array, not an object
    command = validator({"$ref": "#/components/schemas/CommandResult"})
    assert not command.is_valid({"msg": "x"})
    connected = validator({"$ref": "#/components/schemas/Connected"})
    for ok in (True, 0, 1, "online", {"connected": "1"}):
        assert connected.is_valid(ok), ok
    for bad in (None, 2, "maybe", [True], {"online": True}):
        assert not connected.is_valid(bad), bad


def test_request_body_examples_validate() -> None:
    for e in endpoints().values():
        op = SPEC["paths"][e.path][e.method.lower()]
        if "requestBody" in op:
            content = op["requestBody"]["content"]["application/json"]
            validator(content["schema"]).validate(content["example"])
            schema = resolve(SPEC, content["schema"])
            assert not validator(content["schema"]).is_valid({"bogus": 1}), schema


def test_reads_are_marked_and_commands_are_not() -> None:
    reads = {e.operation_id for e in endpoints().values() if e.read}
    assert {"currentstatecharge", "reported", "stadistic_device", "pairings_me"} <= reads
    assert not reads & {"intensity", "startcharge", "rfid_learn", "timer"}
    assert all(
        e.method == "GET"
        for e in endpoints().values()
        if e.read and e.operation_id != "currentstatecharge"
    )
    assert endpoints()["currentstatecharge"].fallback_paths == ("/device/currentstatecharge",)


def test_practice_schemas_name_the_public_client_they_follow() -> None:
    schemas = SPEC["components"]["schemas"]
    marked = {n for n, s in schemas.items() if s.get("x-v2c-source") == "practice"}
    assert marked == {"ReportedShadow", "Connected"}
    for name in marked:
        note = schemas[name]["x-v2c-source-note"]
        assert "samuelebistoletti/HomeAssistant-V2C-Cloud" in note, name
        assert "custom_components/v2c_cloud/" in note, name
    reported = endpoints()["reported"].response_schema
    assert resolve(SPEC, reported)["anyOf"][0] == {"$ref": "#/components/schemas/ReportedShadow"}
    words = next(b["enum"] for b in schemas["Connected"]["oneOf"] if b.get("type") == "string")
    assert set(words) == set(CONNECTED_WORDS)  # the spec and the parser accept the same words
