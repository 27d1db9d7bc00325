"""The MQTT bridge against a real Mosquitto: Home Assistant discovery, state, commands, outages.

Covers `adapters/mqtt/` (bridge, discovery, state, commands, topics). Mosquitto is the
Debian package `mosquitto`: the fixture starts `mosquitto -c <conf>` on a free
127.0.0.1 port; without the package these tests FAIL (never skip). A paho client
(`Watcher`) reads what the broker holds. No test sleeps to synchronise: each
waits for its condition with a timeout (`wait_until`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
import pytest
from jsonschema import Draft202012Validator
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from adapters.mqtt.bridge import MqttBridge
from adapters.mqtt.commands import CommandError, CommandHandler, parse_departure
from adapters.mqtt.config import MqttSettings, parse_mqtt_url
from adapters.mqtt.discovery import Discovery
from adapters.mqtt.state import charger_state, site_state
from adapters.mqtt.topics import SITE, Command, CommandTopic, Topics
from adapters.served import free_port
from optimizer.cli.main import app
from optimizer.status.board import StatusBoard
from optimizer.status.control import ControlError, SetPolicy, SetTarget, SiteControl
from optimizer.status.snapshot import ChargerStatus, SiteStatus

# ----- a real broker and a client that records -------------------------------------------------

CANDIDATES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
WAIT_S = 60.0
"""How long a test waits for a condition on the broker (wall s); none waits by sleeping."""


def mosquitto_binary() -> str:
    """The broker's executable; the test fails with the package to install when it is missing."""
    found = shutil.which("mosquitto") or next((p for p in CANDIDATES if Path(p).exists()), None)
    if found is None:
        pytest.fail("mosquitto is not installed: apt-get install mosquitto mosquitto-clients")
    return found


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


class Broker:
    """`mosquitto -c <conf>` on 127.0.0.1:`port`, anonymous, no persistence."""

    def __init__(self, directory: Path, listener: str = "") -> None:
        """`listener`: more lines of the listener's configuration (TLS)."""
        self.binary = mosquitto_binary()
        self.port = free_port()
        self.conf = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n{listener}"
            "allow_anonymous true\n"
            "persistence false\n"
            # as root, mosquitto would become the user `mosquitto`, who cannot read tmp_path
            "user root\n"
            f"log_dest file {self.log}\n"
            "log_type all\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._accepts, f"mosquitto to listen on {self.port}", 10.0)

    def kill(self) -> None:
        """Stop the broker at once (SIGKILL): its clients lose the connection."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def _accepts(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"mosquitto exited with {self.process.returncode}: {self.log_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def running_broker(directory: Path) -> Iterator[Broker]:
    """A running Mosquitto (its files in `directory`), killed on the way out."""
    running = Broker(directory)
    running.start()
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running Mosquitto, killed after the test."""
    with running_broker(tmp_path) as running:
        yield running


@dataclass(frozen=True, slots=True)
class Seen:
    """One message as the watcher received it."""

    topic: str
    payload: str
    retain: bool


class Watcher:
    """A paho client subscribed to `#`: keeps every message, newest last, per topic."""

    def __init__(self, port: int) -> None:
        self._lock = threading.Lock()
        self._messages: list[Seen] = []
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda client, *_: client.subscribe("#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        with self._lock:
            self._messages.append(
                Seen(message.topic, message.payload.decode(errors="replace"), bool(message.retain))
            )

    def messages(self, topic: str | None = None) -> list[Seen]:
        with self._lock:
            return [m for m in self._messages if topic is None or m.topic == topic]

    def last(self, topic: str) -> Seen | None:
        seen = self.messages(topic)
        return seen[-1] if seen else None

    def wait_for(self, topic: str, payload: Callable[[str], bool], what: str) -> Seen:
        """The first message on `topic` (from now on or retained) whose payload satisfies."""
        wait_until(lambda: any(payload(m.payload) for m in self.messages(topic)), what)
        return next(m for m in self.messages(topic) if payload(m.payload))

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@contextmanager
def recording(port: int) -> Iterator[Watcher]:
    """A connected `Watcher` of the broker on `port`, closed on the way out."""
    client = Watcher(port)
    try:
        wait_until(client.client.is_connected, "the watcher to connect")
        yield client
    finally:
        client.close()


@pytest.fixture
def watcher(broker: Broker) -> Iterator[Watcher]:
    """A client of `broker` that records everything."""
    with recording(broker.port) as client:
        yield client


# ----- Home Assistant's discovery schema, per entity kind -------------------------------------
# Written from Home Assistant's MQTT documentation (integrations/sensor.mqtt, select.mqtt,
# number.mqtt, text.mqtt and the discovery section of integrations/mqtt): the keys each kind
# allows, the ones it requires, their types. Home Assistant ignores unknown keys in discovery;
# here an unknown key fails, so a misspelt option cannot pass unnoticed.

STRING = {"type": "string"}
TOPIC = {"type": "string", "minLength": 1, "pattern": r"^[^#+]+$"}
TEMPLATE = {"type": "string", "minLength": 1}
BOOLEAN = {"type": "boolean"}
DEVICE = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["identifiers"]}, {"required": ["connections"]}],
    "properties": {
        "configuration_url": STRING,
        "connections": {
            "type": "array",
            "items": {"type": "array", "items": STRING, "minItems": 2, "maxItems": 2},
        },
        "hw_version": STRING,
        "identifiers": {"anyOf": [STRING, {"type": "array", "items": STRING, "minItems": 1}]},
        "manufacturer": STRING,
        "model": STRING,
        "model_id": STRING,
        "name": STRING,
        "serial_number": STRING,
        "suggested_area": STRING,
        "sw_version": STRING,
        "via_device": STRING,
    },
}
ORIGIN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": STRING, "sw_version": STRING, "support_url": STRING},
}
COMMON = {
    "availability": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["topic"],
            "additionalProperties": False,
            "properties": {
                "topic": TOPIC,
                "payload_available": STRING,
                "payload_not_available": STRING,
                "value_template": TEMPLATE,
            },
        },
    },
    "availability_mode": {"enum": ["all", "any", "latest"]},
    "availability_template": TEMPLATE,
    "availability_topic": TOPIC,
    "payload_available": STRING,
    "payload_not_available": STRING,
    "device": DEVICE,
    "origin": ORIGIN,
    "enabled_by_default": BOOLEAN,
    "encoding": STRING,
    "entity_category": {"enum": ["config", "diagnostic"]},
    "entity_picture": STRING,
    "icon": {"type": "string", "pattern": r"^[a-z]+:[a-z0-9-]+$"},
    "json_attributes_template": TEMPLATE,
    "json_attributes_topic": TOPIC,
    "name": {"type": ["string", "null"]},
    "object_id": STRING,
    "default_entity_id": STRING,
    "qos": {"enum": [0, 1, 2]},
    "unique_id": {"type": "string", "minLength": 1},
    "value_template": TEMPLATE,
    "state_topic": TOPIC,
}
COMMANDABLE = {"command_topic": TOPIC, "command_template": TEMPLATE, "retain": BOOLEAN}
SENSOR_DEVICE_CLASSES = [
    "apparent_power", "aqi", "battery", "current", "data_rate", "data_size", "date",
    "distance", "duration", "energy", "energy_storage", "enum", "frequency", "humidity",
    "illuminance", "monetary", "power", "power_factor", "pressure", "reactive_power",
    "signal_strength", "speed", "temperature", "timestamp", "voltage", "volume", "weight",
]  # fmt: skip
KINDS: dict[str, dict[str, Any]] = {
    "sensor": {
        "required": ["state_topic"],
        "properties": COMMON
        | {
            "device_class": {"enum": [*SENSOR_DEVICE_CLASSES, None]},
            "state_class": {
                "enum": ["measurement", "measurement_angle", "total", "total_increasing"]
            },
            "unit_of_measurement": {"type": ["string", "null"]},
            "expire_after": {"type": "integer", "minimum": 0},
            "force_update": BOOLEAN,
            "last_reset_value_template": TEMPLATE,
            "options": {"type": "array", "items": STRING, "minItems": 1},
            "suggested_display_precision": {"type": "integer", "minimum": 0},
        },
    },
    "select": {
        "required": ["command_topic", "options"],
        "properties": COMMON
        | COMMANDABLE
        | {"options": {"type": "array", "items": STRING}, "optimistic": BOOLEAN},
    },
    "number": {
        "required": ["command_topic"],
        "properties": COMMON
        | COMMANDABLE
        | {
            "device_class": {"type": ["string", "null"]},
            "min": {"type": "number"},
            "max": {"type": "number"},
            "step": {"type": "number", "minimum": 0.001},
            "mode": {"enum": ["auto", "box", "slider"]},
            "optimistic": BOOLEAN,
            "payload_reset": STRING,
            "unit_of_measurement": {"type": ["string", "null"]},
        },
    },
    "text": {
        "required": ["command_topic"],
        "properties": COMMON
        | COMMANDABLE
        | {
            "min": {"type": "integer", "minimum": 0},
            "max": {"type": "integer", "minimum": 0, "maximum": 255},
            "mode": {"enum": ["text", "password"]},
            "pattern": STRING,
        },
    },
}
OURS = ["unique_id", "device", "availability_topic", "state_topic", "value_template", "origin"]
"""What this project requires of each entity on top of Home Assistant's required keys."""
UNITS = {"power": {"W", "kW"}, "energy": {"Wh", "kWh", "MWh"}, "current": {"A", "mA"}}
DISCOVERY_TOPIC = re.compile(
    r"^homeassistant/(sensor|select|number|text)/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/config$"
)


def discovery_problems(topic: str, payload: dict[str, Any]) -> list[str]:
    """Everything Home Assistant's schema for the topic's kind finds wrong in `payload`."""
    match = DISCOVERY_TOPIC.match(topic)
    if match is None:
        return [f"{topic}: not <prefix>/<component>/<node_id>/<object_id>/config"]
    kind = KINDS[match[1]]
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": sorted({*kind["required"], *OURS}),
        "properties": kind["properties"],
    }
    found = [
        f"{topic}: {e.json_path}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(payload)
    ]
    return found + [f"{topic}: {p}" for p in semantic_problems(match[1], payload)]


def semantic_problems(kind: str, p: dict[str, Any]) -> list[str]:
    """The rules the documentation states between keys."""
    out = []
    if "availability" in p and "availability_topic" in p:
        out.append("availability and availability_topic together")
    device_class = p.get("device_class")
    if kind == "sensor":
        if "options" in p and (
            device_class != "enum" or {"state_class", "unit_of_measurement"} & set(p)
        ):
            out.append("options need device_class enum and no state_class or unit")
        if device_class in UNITS and p.get("unit_of_measurement") not in UNITS[device_class]:
            out.append(f"unit {p.get('unit_of_measurement')!r} is not one of {device_class}'s")
        if device_class == "energy" and p.get("state_class") not in ("total", "total_increasing"):
            out.append("an energy sensor's state_class is total or total_increasing")
        if p.get("entity_category") not in (None, "diagnostic"):
            out.append("a sensor's entity_category can only be diagnostic")
    if kind in ("number", "text") and p.get("min", 0) > p.get(
        "max", 100 if kind == "number" else 255
    ):
        out.append("min above max")
    if kind == "text" and "pattern" in p:
        re.compile(p["pattern"])
    if kind == "select" and len(set(p.get("options", []))) != len(p.get("options", [])):
        out.append("repeated options")
    return out


# ----- a site to publish -------------------------------------------------------------------------

TZ = ZoneInfo("Europe/Vienna")
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
POLICIES = ("solar_only", "min_solar", "fast", "off", "target")
TOPICS = Topics("v2c-solar", "homeassistant")
SECRET = "s3cr3t-Pw"


def charger(device_id: str = "SIM0001", **changes: Any) -> ChargerStatus:
    base = ChargerStatus(
        device_id=device_id,
        name=None,
        state="charging",
        power_w=4140.4,
        current_a=6.04,
        pv_mode="none",
        paused=False,
        session_energy_wh=5000.0,
        session_solar_wh=4000.0,
        target_wh=None,
        departure=None,
        last_read_at=T0,
        last_decision=None,
    )
    return replace(base, **changes)


def site(policy: str = "solar_only", **changes: Any) -> SiteStatus:
    base = SiteStatus(
        time=T0,
        policy=policy,
        policies=POLICIES,
        pv_w=5200.0,
        house_w=600.0,
        calls_today=120,
        calls_left=880,
        planned_reads=300,
        chargers=(charger(), charger("SIM0002", name="garage", state="disconnected")),
        decisions=(),
    )
    return replace(base, **changes)


def settings(port: int, **changes: Any) -> MqttSettings:
    return replace(
        parse_mqtt_url(f"mqtt://127.0.0.1:{port}"), **({"min_interval_s": 0.05} | changes)
    )


class Site:
    """A board, a control and a bridge over them (what the daemon's wiring builds)."""

    def __init__(self, mqtt: MqttSettings, status: SiteStatus | None = None) -> None:
        self.board = StatusBoard()
        self.board.publish(status or site())
        self.control = SiteControl(
            [c.device_id for c in self.board.current().chargers], POLICIES, now=lambda: T0
        )
        self.bridge = MqttBridge.for_home(mqtt, self.board, self.control, TZ, retry_max_s=1.0)


@pytest.fixture
def running(broker: Broker) -> Iterator[Site]:
    """A bridge connected to `broker`, stopped after the test."""
    started = Site(settings(broker.port))
    started.bridge.start()
    wait_until(lambda: started.bridge.connections == 1, "the bridge to connect")
    yield started
    started.bridge.stop()


def retained(broker: Broker) -> Watcher:
    """A client that connects once the bridge said `online`: all it gets at first is retained."""
    first = Watcher(broker.port)
    try:
        first.wait_for("v2c-solar/availability", lambda p: p == "online", "online")
    finally:
        first.close()
    return Watcher(broker.port)


def discovery_configs(watcher: Watcher) -> dict[str, dict[str, Any]]:
    """The retained discovery configs on the broker, by topic."""
    return {
        m.topic: json.loads(m.payload)
        for m in watcher.messages()
        if m.topic.startswith("homeassistant/") and m.retain
    }


# ----- the discovery payloads, checked against Home Assistant's schema ---------------------------


def test_every_discovery_payload_fits_home_assistants_schema_for_its_kind() -> None:
    messages = Discovery(TOPICS, version="1.0").messages(site())
    assert messages
    for message in messages:
        assert discovery_problems(message.topic, message.payload) == []
    kinds = sorted({m.topic.split("/")[1] for m in messages})
    assert kinds == ["number", "select", "sensor", "text"]
    unique_ids = [m.payload["unique_id"] for m in messages]
    assert len(set(unique_ids)) == len(unique_ids)
    assert len({m.topic for m in messages}) == len(messages)


def test_the_schema_finds_what_home_assistant_would_refuse() -> None:
    """The check can fail: each broken payload is caught, naming what is wrong."""
    good = {m.topic: m.payload for m in Discovery(TOPICS, version="1").messages(site())}
    select = next(t for t in good if t.startswith("homeassistant/select/"))
    power = "homeassistant/sensor/v2c-solar_SIM0001/power/config"
    energy = "homeassistant/sensor/v2c-solar_SIM0001/session_energy/config"
    number = "homeassistant/number/v2c-solar_SIM0001/target_kwh/config"
    text = "homeassistant/text/v2c-solar_SIM0001/departure/config"
    broken = [
        (select, {k: v for k, v in good[select].items() if k != "options"}, "'options'"),
        (select, good[select] | {"command_topic": "a/+/set"}, "command_topic"),
        (power, good[power] | {"unit_of_measurement": "kWh"}, "not one of power's"),
        (power, good[power] | {"state_clas": "measurement"}, "state_clas"),
        (energy, good[energy] | {"state_class": "measurement"}, "total_increasing"),
        (number, good[number] | {"step": 0}, "step"),
        (number, good[number] | {"min": 10.0, "max": 1.0}, "min above max"),
        (text, good[text] | {"max": 300}, "max"),
        (text, {k: v for k, v in good[text].items() if k != "device"}, "'device'"),
        ("homeassistant/sensor/bad id/x/config", good[power], "not <prefix>"),
    ]
    for topic, payload, problem in broken:
        found = discovery_problems(topic, payload)
        assert any(problem in p for p in found), (problem, found)


def test_the_discovery_names_one_device_per_charger_and_one_for_the_site() -> None:
    messages = Discovery(TOPICS, version="1").messages(site())
    devices = {json.dumps(m.payload["device"], sort_keys=True) for m in messages}
    assert len(devices) == 3
    by_object = {m.topic.split("/")[3]: m.payload for m in messages if "SIM0001" in m.topic}
    assert set(by_object) >= {"power", "session_energy", "solar_share", "target_kwh", "departure"}
    assert by_object["target_kwh"]["command_topic"] == "v2c-solar/SIM0001/target_kwh/set"
    assert by_object["departure"]["command_topic"] == "v2c-solar/SIM0001/departure/set"
    assert by_object["power"]["device"]["via_device"] == "v2c-solar_site"
    policy = next(m.payload for m in messages if m.topic.startswith("homeassistant/select/"))
    assert policy["options"] == list(POLICIES)
    assert policy["command_topic"] == "v2c-solar/site/policy/set"
    assert policy["state_topic"] == "v2c-solar/site/state"


# ----- the state JSON and the topics -------------------------------------------------------------


def test_the_charger_state_carries_what_home_assistant_shows() -> None:
    departure = datetime(2026, 6, 2, 5, 30, tzinfo=UTC)
    state = charger_state(charger(target_wh=20_000.0, departure=departure), TZ)
    assert state["power_w"] == 4140 and state["current_a"] == 6.0
    assert state["session_energy_kwh"] == 5.0 and state["solar_share_pct"] == 80.0
    assert state["target_kwh"] == 20.0
    assert state["departure"] == "2026-06-02T05:30:00+00:00"
    assert state["departure_local"] == "07:30"  # Vienna in summer
    empty = charger_state(charger(session_energy_wh=None, session_solar_wh=None), TZ)
    assert empty["solar_share_pct"] is None and empty["session_energy_kwh"] is None
    assert empty["departure_local"] == ""
    assert site_state(site()) == {
        "policy": "solar_only",
        "pv_w": 5200.0,
        "house_w": 600.0,
        "calls_today": 120,
        "calls_left": 880,
        "planned_reads": 300,
        "fatal": None,
    }


@pytest.mark.parametrize(
    ("topic", "parsed"),
    [
        ("v2c-solar/site/policy/set", CommandTopic(Command.POLICY, SITE)),
        ("v2c-solar/SIM0001/target_kwh/set", CommandTopic(Command.TARGET_KWH, "SIM0001")),
        ("v2c-solar/SIM0001/departure/set", CommandTopic(Command.DEPARTURE, "SIM0001")),
        ("v2c-solar/SIM0001/policy/set", None),
        ("v2c-solar/site/target_kwh/set", None),
        ("v2c-solar/SIM0001/state", None),
        ("other/site/policy/set", None),
        ("v2c-solar/SIM0001/colour/set", None),
    ],
)
def test_command_topics_parse(topic: str, parsed: CommandTopic | None) -> None:
    assert TOPICS.parse_command(topic) == parsed


# ----- commands ----------------------------------------------------------------------------------


def handler(status: SiteStatus | None = None) -> tuple[CommandHandler, SiteControl]:
    current = status or site()
    control = SiteControl([c.device_id for c in current.chargers], POLICIES, now=lambda: T0)
    return CommandHandler(control, TOPICS, TZ, lambda: current), control


def test_a_policy_command_is_queued_for_the_daemon() -> None:
    commands, control = handler()
    commands.handle("v2c-solar/site/policy/set", b" fast\n")
    assert control.take() == [SetPolicy("fast")]
    with pytest.raises(ControlError, match="policy: unknown name 'turbo'"):
        commands.handle("v2c-solar/site/policy/set", b"turbo")


def test_a_target_needs_both_halves_and_takes_them_in_any_order() -> None:
    commands, control = handler()
    commands.handle("v2c-solar/SIM0001/target_kwh/set", b"20")
    assert control.take() == []  # no departure yet: kept
    commands.handle("v2c-solar/SIM0001/departure/set", b"07:30")
    # 07:30 in Vienna after 12:00 local (T0) is tomorrow's
    assert control.take() == [
        SetTarget("SIM0001", 20_000.0, datetime(2026, 6, 2, 5, 30, tzinfo=UTC))
    ]
    commands.handle("v2c-solar/SIM0001/departure/set", b"2026-06-01T18:00")
    commands.handle("v2c-solar/SIM0001/target_kwh/set", b"12.5")
    assert control.take() == [
        SetTarget("SIM0001", 12_500.0, datetime(2026, 6, 1, 16, 0, tzinfo=UTC))
    ]
    commands.handle("v2c-solar/SIM0001/target_kwh/set", b"0")
    assert control.take() == [SetTarget("SIM0001", None, None)]


def test_a_half_reuses_the_other_half_of_the_target_the_charger_has() -> None:
    departure = datetime(2026, 6, 2, 5, 30, tzinfo=UTC)
    status = site(chargers=(charger(target_wh=20_000.0, departure=departure),))
    commands, control = handler(status)
    commands.handle("v2c-solar/SIM0001/target_kwh/set", b"30")
    assert control.take() == [SetTarget("SIM0001", 30_000.0, departure)]
    commands.handle("v2c-solar/SIM0001/departure/set", b"")
    assert control.take() == [SetTarget("SIM0001", None, None)]


@pytest.mark.parametrize(
    ("topic", "payload", "problem"),
    [
        ("v2c-solar/SIM0001/target_kwh/set", b"lots", "target_kwh: not a number of kWh: 'lots'"),
        ("v2c-solar/SIM0001/target_kwh/set", b"-3", "target_kwh: must be a finite number >= 0"),
        ("v2c-solar/SIM0001/target_kwh/set", b"nan", "target_kwh: must be a finite number >= 0"),
        ("v2c-solar/SIM0001/target_kwh/set", b"\xff\xfe", "target_kwh: payload is not UTF-8"),
        ("v2c-solar/SIM0001/departure/set", b"25:00", "departure: no such time of day"),
        ("v2c-solar/SIM0001/departure/set", b"soon", "departure: expected HH:MM, 'tomorrow"),
        ("v2c-solar/SIM0009/departure/set", b"07:00", "device_id: no charger 'SIM0009'"),
    ],
)
def test_bad_commands_are_one_line_naming_the_field(
    topic: str, payload: bytes, problem: str
) -> None:
    commands, control = handler()
    with pytest.raises(CommandError) as info:
        commands.handle(topic, payload)
    assert problem in str(info.value) and "\n" not in str(info.value)
    assert control.take() == []


def test_a_departure_in_the_past_is_refused_by_site_control() -> None:
    commands, _ = handler()
    commands.handle("v2c-solar/SIM0001/target_kwh/set", b"10")
    with pytest.raises(ControlError, match="departure: must be in the future"):
        commands.handle("v2c-solar/SIM0001/departure/set", b"2026-06-01T08:00")


def test_hh_mm_is_the_next_such_local_time_across_midnight_and_dst() -> None:
    late = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Vienna, DST starts that night
    assert parse_departure("07:00", late, TZ) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    assert parse_departure("23:45", late, TZ) == datetime(2026, 3, 28, 22, 45, tzinfo=UTC)


# ----- the bridge against the broker ------------------------------------------------------------


def test_discovery_and_state_are_retained_valid_and_online(running: Site, broker: Broker) -> None:
    watcher = retained(broker)
    try:
        watcher.wait_for("v2c-solar/availability", lambda p: p == "online", "online, retained")
        expected = {m.topic for m in Discovery(TOPICS).messages(site())}
        wait_until(lambda: set(discovery_configs(watcher)) == expected, "every discovery config")
        for topic, payload in discovery_configs(watcher).items():
            assert discovery_problems(topic, payload) == []
        state = watcher.wait_for("v2c-solar/SIM0001/state", lambda p: True, "a charger's state")
        assert state.retain and json.loads(state.payload)["power_w"] == 4140
        site_seen = watcher.wait_for("v2c-solar/site/state", lambda p: True, "the site's state")
        assert json.loads(site_seen.payload)["calls_left"] == 880
    finally:
        watcher.close()


def test_state_is_sent_on_change_only(running: Site, watcher: Watcher) -> None:
    topic = "v2c-solar/SIM0001/state"
    watcher.wait_for(topic, lambda p: True, "the first state")
    for _ in range(20):  # the same figures again and again: nothing new to say
        running.board.publish(replace(running.board.current(), time=T0 + timedelta(seconds=1)))
    changed = replace(running.board.current(), chargers=(charger(power_w=1380.0),))
    running.board.publish(changed)
    watcher.wait_for(topic, lambda p: json.loads(p)["power_w"] == 1380, "the changed state")
    assert len(watcher.messages(topic)) == 2


def test_state_is_sent_at_most_every_min_interval(broker: Broker, watcher: Watcher) -> None:
    started = Site(settings(broker.port, min_interval_s=0.5))
    started.bridge.start()
    try:
        topic = "v2c-solar/SIM0001/state"
        watcher.wait_for(topic, lambda p: True, "the first state")
        t0 = time.monotonic()
        for watts in range(1, 201):  # 200 changes as fast as the daemon can make them
            status = started.board.current()
            started.board.publish(replace(status, chargers=(charger(power_w=float(watts)),)))
        watcher.wait_for(topic, lambda p: json.loads(p)["power_w"] == 200, "the newest state")
        elapsed = time.monotonic() - t0
        sent = len(watcher.messages(topic)) - 1
        assert 1 <= sent <= elapsed / 0.5 + 2, (sent, elapsed)
    finally:
        started.bridge.stop()


def test_a_command_on_the_broker_reaches_the_daemon_and_is_acknowledged(
    running: Site, watcher: Watcher
) -> None:
    watcher.wait_for(
        "v2c-solar/site/state", lambda p: json.loads(p)["policy"] == "solar_only", "state"
    )
    watcher.publish("v2c-solar/site/policy/set", "fast")
    wait_until(lambda: running.control.pending == 1, "the command to be queued")
    assert running.control.take() == [SetPolicy("fast")]
    running.board.publish(site("fast"))  # what the daemon does once it applied it
    watcher.wait_for("v2c-solar/site/state", lambda p: json.loads(p)["policy"] == "fast", "the ack")


def test_a_bad_command_is_published_as_an_error_and_the_bridge_goes_on(
    running: Site, watcher: Watcher
) -> None:
    watcher.wait_for("v2c-solar/availability", lambda p: p == "online", "online")
    watcher.publish("v2c-solar/site/policy/set", "turbo")
    error = watcher.wait_for("v2c-solar/site/error", lambda p: "turbo" in p, "the error")
    assert error.payload.startswith("policy: unknown name 'turbo'") and "\n" not in error.payload
    watcher.publish("v2c-solar/SIM0001/target_kwh/set", "\xff lots")
    watcher.wait_for("v2c-solar/site/error", lambda p: p.startswith("target_kwh:"), "2nd error")
    watcher.publish("v2c-solar/site/policy/set", "off")
    wait_until(lambda: running.control.pending == 1, "a good command after the bad ones")
    assert running.control.take() == [SetPolicy("off")]


def test_a_retained_command_is_not_applied(broker: Broker, watcher: Watcher) -> None:
    watcher.publish("v2c-solar/site/policy/set", "off", retain=True)
    started = Site(settings(broker.port))
    started.bridge.start()
    try:
        watcher.wait_for("v2c-solar/availability", lambda p: p == "online", "online")
        watcher.publish("v2c-solar/site/policy/set", "fast")
        wait_until(lambda: started.control.pending == 1, "the live command")
        assert started.control.take() == [SetPolicy("fast")]
    finally:
        started.bridge.stop()


def test_after_a_broker_restart_the_bridge_reconnects_and_republishes(
    running: Site, broker: Broker
) -> None:
    broker.kill()  # persistence false: every retained message is gone with it
    running.board.publish(site("off"))  # the daemon goes on meanwhile
    broker.start()
    wait_until(lambda: running.bridge.connections == 2, "the bridge to reconnect")
    watcher = retained(broker)
    try:
        watcher.wait_for("v2c-solar/availability", lambda p: p == "online", "online again")
        expected = {m.topic for m in Discovery(TOPICS).messages(site())}
        wait_until(lambda: set(discovery_configs(watcher)) == expected, "discovery again")
        watcher.wait_for(
            "v2c-solar/site/state", lambda p: json.loads(p)["policy"] == "off", "new state"
        )
        watcher.publish("v2c-solar/site/policy/set", "fast")  # and it listens again
        wait_until(lambda: running.control.pending == 1, "a command after the restart")
    finally:
        watcher.close()


def test_a_clean_stop_says_offline(broker: Broker, watcher: Watcher) -> None:
    started = Site(settings(broker.port))
    started.bridge.start()
    watcher.wait_for("v2c-solar/availability", lambda p: p == "online", "online")
    started.bridge.stop()
    watcher.wait_for("v2c-solar/availability", lambda p: p == "offline", "offline")
    assert watcher.last("v2c-solar/availability") == Seen(
        "v2c-solar/availability", "offline", False
    )


def test_the_daemon_thread_never_waits_for_a_missing_broker() -> None:
    started = Site(settings(free_port()))  # nothing listens there
    started.bridge.start()
    try:
        t0 = time.perf_counter()
        for watts in range(2000):
            status = started.board.current()
            started.board.publish(replace(status, chargers=(charger(power_w=float(watts)),)))
        assert time.perf_counter() - t0 < 1.0
        assert started.bridge.connections == 0
    finally:
        t0 = time.perf_counter()
        started.bridge.stop()
        assert time.perf_counter() - t0 < 2.0


def test_the_password_appears_in_no_log(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("mqtt").setLevel(logging.DEBUG)  # paho's own log, through aiomqtt
    mqtt = replace(
        parse_mqtt_url(f"mqtt://ha:{SECRET}@127.0.0.1:{broker.port}"), min_interval_s=0.05
    )
    started = Site(mqtt)
    try:
        started.bridge.start()
        wait_until(lambda: started.bridge.connections == 1, "the bridge to connect")
        broker.kill()
        broker.start()
        wait_until(lambda: started.bridge.connections == 2, "the bridge to reconnect")
        started.bridge.stop()
    finally:
        logging.getLogger("mqtt").setLevel(logging.WARNING)
    assert "mqtt://ha@127.0.0.1" in caplog.text  # the broker is named...
    assert SECRET not in caplog.text  # ...its password never
    assert SECRET not in repr(started.bridge.settings)


def test_mqtts_verifies_the_broker_against_the_configured_ca(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca, other_ca = certificates(tmp_path)
    tls = f"cafile {ca}\ncertfile {tmp_path / 'server.pem'}\nkeyfile {tmp_path / 'server.key'}\n"
    broker = Broker(tmp_path, listener=tls)
    broker.start()
    trusted = Site(replace(parse_mqtt_url(f"mqtts://127.0.0.1:{broker.port}"), ca_file=ca))
    stranger = Site(replace(parse_mqtt_url(f"mqtts://127.0.0.1:{broker.port}"), ca_file=other_ca))
    try:
        trusted.bridge.start()
        stranger.bridge.start()
        wait_until(lambda: trusted.bridge.connections == 1, "a TLS connection")
        wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in caplog.text, "the refused handshake")
        assert stranger.bridge.connections == 0
    finally:
        trusted.bridge.stop()
        stranger.bridge.stop()
        broker.kill()


def certificates(directory: Path) -> tuple[Path, Path]:
    """A CA that signed `server.pem` for 127.0.0.1, and another CA that did not."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    for name in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf",
            "-out", "server.pem")  # fmt: skip
    return directory / "ca.pem", directory / "other-ca.pem"


# ----- `demo --mqtt` and `run --mqtt`: the bridge beside the daemon -------------------------------

ROOT = Path(__file__).resolve().parents[1]


def start_demo(*args: str) -> subprocess.Popen[str]:
    """`v2c-solar demo ARGS` in its own interpreter (so that it can be killed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("V2C_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "optimizer.cli.main", "demo", "--json", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_demo_publishes_discovery_and_state_takes_a_policy_and_leaves_a_will(
    broker: Broker, watcher: Watcher
) -> None:
    # runs until the test kills it (12 h, 60 wall s, could end first on a loaded machine)
    demo = start_demo("--hours", "240", "--speed", "720", "--mqtt", broker.url)
    try:
        watcher.wait_for("v2c-solar/availability", lambda p: p == "online", "the demo online")
        held = retained(broker)
        expected = {"power", "session_energy", "solar_share", "target_kwh", "departure"}

        def sim_entities() -> set[str]:
            topics = discovery_configs(held)
            return {t.split("/")[3] for t in topics if "/v2c-solar_SIM0001/" in t}

        wait_until(lambda: sim_entities() >= expected, "SIM0001's retained discovery")
        configs = discovery_configs(held)
        held.close()
        for topic, payload in configs.items():
            assert discovery_problems(topic, payload) == []
        # state flows while the demo runs: the simulated clock moves the figures
        state = "v2c-solar/SIM0001/state"
        wait_until(lambda: len({m.payload for m in watcher.messages(state)}) >= 3, "states")
        assert json.loads(watcher.last(state).payload)["device_id"] == "SIM0001"  # type: ignore[union-attr]
        # a command from Home Assistant: the daemon applies it, its board says so
        watcher.publish("v2c-solar/site/policy/set", "fast")
        watcher.wait_for(
            "v2c-solar/site/state", lambda p: json.loads(p)["policy"] == "fast", "fast"
        )
        # the daemon dies without a word: the broker publishes the last will
        online = len(watcher.messages("v2c-solar/availability"))
        demo.kill()
        demo.wait(10)
        wait_until(
            lambda: (
                [m.payload for m in watcher.messages("v2c-solar/availability")[online:]]
                == ["offline"]
            ),
            "the last will",
        )
    finally:
        if demo.poll() is None:
            demo.kill()
        demo.communicate(timeout=10)


def test_a_demo_that_ends_says_offline_and_exits_0(broker: Broker, watcher: Watcher) -> None:
    demo = start_demo("--hours", "1", "--speed", "2880", "--mqtt", broker.url)
    out, err = demo.communicate(timeout=120)
    assert demo.returncode == 0, err
    assert json.loads(out)["hours"] == 1
    payloads = [m.payload for m in watcher.messages("v2c-solar/availability")]
    assert payloads[0] == "online" and payloads[-1] == "offline"


@pytest.mark.parametrize("given", ["option", "variable"])
def test_a_bad_mqtt_url_is_one_line_without_the_password(given: str) -> None:
    url = f"http://ha:{SECRET}@h:1883"
    args, env = (["--mqtt", url], {}) if given == "option" else ([], {"V2C_SOLAR_MQTT": url})
    result = CliRunner().invoke(app, ["demo", *args], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == ["error: --mqtt: 'http://ha:***@h:1883': scheme must be mqtt:// or mqtts://"]


def test_run_reads_the_password_from_the_named_variable(tmp_path: Path) -> None:
    config = tmp_path / "home.toml"
    home = (ROOT / "config" / "home.toml").read_text(encoding="utf-8")
    config.write_text(home + '\n[mqtt]\nhost = "h"\npassword_env = "NO_SUCH_VAR"\n')
    result = CliRunner().invoke(app, ["run", "--config", str(config)], env={"V2C_API_KEY": "k"})
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: mqtt.password_env: the environment variable NO_SUCH_VAR is not set"
    )
