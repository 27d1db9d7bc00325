"""MQTT for a fleet against a real Mosquitto: every home on one connection, each under its
account and site, commands reaching their own home only.

The fleet is the one of `tests/test_fleet_targets.py`: two accounts (acme with SIMA,
zeta with SIMB, each a single unnamed site, so both are `site1`) as real daemons over a
frozen demo simulator, moved by the test (no wall-clock waits); the bridge is the one
`run --config fleet.toml` starts (`fleet_homes` over `mqtt_homes`). The broker is the
`mosquitto` of `tests/test_mqtt_bridge.py` on a free 127.0.0.1 port (without it: FAIL).
An end-to-end test runs `run --config fleet.toml` with `[mqtt]` as a process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.mqtt.bridge import MqttBridge
from adapters.mqtt.config import MqttSettings
from adapters.mqtt.fleet import FleetHome, FleetNameError, fleet_homes
from adapters.mqtt.home import MqttHome
from adapters.mqtt.topics import SITE
from adapters.simulator.fleet import generate_fleet, start_fleet_simulator
from optimizer.accounts import parse_fleet
from optimizer.cli.main import app
from optimizer.cli.run_fleet import mqtt_homes
from optimizer.config import ConfigError
from optimizer.daemon.targets import TARGET_POLL_S
from optimizer.status.board import StatusBoard
from optimizer.status.control import SiteControl
from tests.test_cli_accounts import fleet_toml
from tests.test_fleet_targets import MORNING, Fleet, write_fleet
from tests.test_mqtt_bridge import (
    POLICIES,
    SECRET,
    T0,
    TZ,
    Broker,
    Watcher,
    discovery_problems,
    recording,
    running_broker,
    settings,
    site,
    start_demo,
    wait_until,
)

runner = CliRunner()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(tmp_path) as running:
        yield running


@pytest.fixture
def watcher(broker: Broker) -> Iterator[Watcher]:
    with recording(broker.port) as client:
        yield client


class Bridged:
    """The two-account fleet and one bridge over both homes, as `run` wires them."""

    def __init__(self, folder: Path, mqtt: MqttSettings) -> None:
        self.folder = folder
        self.fleet = Fleet(write_fleet(folder), boards=True)
        wired = list(self.fleet.accounts.values())
        self.homes = fleet_homes(mqtt, mqtt_homes(wired, self.fleet.specs))
        self.bridge = MqttBridge(mqtt, self.homes, retry_max_s=1.0)
        self.bridge.start()

    def home(self, account: str) -> MqttHome:
        return next(h for h in self.homes if h.topics.home.startswith(f"{account}/"))

    def control(self, account: str) -> SiteControl:
        return self.fleet.accounts[account].daemons[0].control

    def close(self) -> None:
        self.bridge.stop()
        self.fleet.close()


@pytest.fixture
def bridged(tmp_path: Path, broker: Broker) -> Iterator[Bridged]:
    running = Bridged(tmp_path, settings(broker.port))
    try:
        yield running
    finally:
        running.close()


def retained_configs(watcher: Watcher) -> dict[str, dict[str, Any]]:
    return {
        m.topic: json.loads(m.payload)
        for m in watcher.messages()
        if m.topic.startswith("homeassistant/") and m.retain
    }


def state(watcher: Watcher, topic: str) -> dict[str, Any]:
    seen = watcher.wait_for(topic, lambda p: True, topic)
    return dict(json.loads(seen.payload))


# ----- naming: topics and ids under account and site --------------------------------------------


def home(account: str, site_name: str, devices: tuple[str, ...] = ("D1",)) -> FleetHome:
    control = SiteControl(list(devices), POLICIES, now=lambda: T0)
    return FleetHome(account, site_name, StatusBoard(), control, TZ, devices)


def test_two_accounts_homes_of_one_name_get_their_own_topics_and_ids() -> None:
    mqtt = settings(1883)
    a, z = fleet_homes(mqtt, [home("acme", "site1", ("A1",)), home("zeta", "site1", ("Z1",))])
    assert a.topics.state(SITE) == "v2c-solar/acme/site1/site/state"
    assert z.topics.state("Z1") == "v2c-solar/zeta/site1/Z1/state"
    assert z.topics.commands == "v2c-solar/zeta/site1/+/+/set"
    assert a.topics.node_id(SITE) != z.topics.node_id(SITE)
    assert a.topics.availability == z.topics.availability == "v2c-solar/availability"
    assert a.topics.parse_command("v2c-solar/zeta/site1/Z1/target_kwh/set") is None
    assert z.topics.parse_command("v2c-solar/zeta/site1/Z1/target_kwh/set") is not None


def test_a_site_name_becomes_one_topic_level() -> None:
    (garage,) = fleet_homes(settings(1883), [home("acme", "Garage A/B #2")])
    assert garage.topics.state(SITE) == "v2c-solar/acme/Garage_A_B__2/site/state"


def test_homes_whose_ids_would_meet_are_refused_naming_both() -> None:
    with pytest.raises(FleetNameError) as caught:
        fleet_homes(settings(1883), [home("a", "b_c"), home("a_b", "c", ("D2",))])
    message = str(caught.value)
    assert "account a, site 'b_c'" in message and "account a_b, site 'c'" in message
    assert "\n" not in message


def test_a_single_homes_topics_and_ids_are_unchanged() -> None:
    """A single home: topics right under the prefix, node ids `<prefix>_<scope>`, the site
    device `v2c-solar`, as before fleets (Home Assistant keeps its entities)."""
    board = StatusBoard()
    board.publish(site())
    bridge = MqttBridge.for_home(settings(1883), board, SiteControl([], POLICIES), TZ)
    (one,) = bridge.homes
    one.latest = site()
    by_topic = {m.topic: m.payload for m in one.messages()}
    assert "v2c-solar/site/state" in by_topic and "v2c-solar/SIM0001/state" in by_topic
    config = by_topic["homeassistant/sensor/v2c-solar_site/pv_power/config"]
    assert config["unique_id"] == "v2c-solar_site_pv_power"
    assert config["device"]["name"] == "v2c-solar"
    assert config["availability_topic"] == "v2c-solar/availability"
    number = by_topic["homeassistant/number/v2c-solar_SIM0001/target_kwh/config"]
    assert number["command_topic"] == "v2c-solar/SIM0001/target_kwh/set"
    assert one.topics.commands == "v2c-solar/+/+/set"


# ----- the fleet file's [mqtt] -----------------------------------------------------------------


ARRAY = {"kwp": 5.0, "tilt_deg": 30.0, "azimuth_deg": 180.0}
ONE_SITE: dict[str, Any] = {
    "site": {"latitude": 40.4, "longitude": -3.7, "arrays": [ARRAY]},
    "chargers": [{"device_id": "A1"}],
}
FLEET_DATA: dict[str, Any] = {
    "accounts": [{"name": "acme", "api_key_env": "K", "sites": [ONE_SITE]}]
}


def test_a_fleet_file_takes_mqtt_and_keeps_its_password_secret(tmp_path: Path) -> None:
    data = FLEET_DATA | {"mqtt": {"host": "broker.lan", "username": "ha", "password": SECRET}}
    fleet = parse_fleet(data, tmp_path / "fleet.toml")
    assert fleet.mqtt is not None
    resolved = fleet.mqtt.settings()
    assert resolved.password == SECRET and resolved.where == "mqtt://ha@broker.lan:1883"
    assert SECRET not in repr(fleet) and SECRET not in repr(resolved)


def test_a_bad_fleet_mqtt_section_is_one_line_without_the_password(tmp_path: Path) -> None:
    data = FLEET_DATA | {"mqtt": {"url": f"mqtt://ha:{SECRET}@h", "port": 1}}
    with pytest.raises(ConfigError) as caught:
        parse_fleet(data, tmp_path / "fleet.toml")
    message = str(caught.value)
    assert "mqtt" in message and "drop port" in message
    assert SECRET not in message and "\n" not in message


def test_run_refuses_a_bad_mqtt_url_for_a_fleet_in_one_line(tmp_path: Path) -> None:
    path = write_fleet(tmp_path)
    result = runner.invoke(app, ["run", "--config", str(path), "--mqtt", f"http://u:{SECRET}@h"])
    assert result.exit_code == 2, result.output
    assert "--mqtt" in result.stderr and SECRET not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


# ----- the fleet's bridge against the broker -----------------------------------------------------


def test_each_home_publishes_its_own_state_and_discovery_on_one_connection(
    bridged: Bridged, watcher: Watcher, broker: Broker
) -> None:
    bridged.fleet.run_until(MORNING)
    watcher.wait_for("v2c-solar/availability", lambda p: p == "online", "online")
    for account, device in (("acme", "SIMA"), ("zeta", "SIMB")):
        mine = state(watcher, f"v2c-solar/{account}/site1/{device}/state")
        assert mine["device_id"] == device
        assert state(watcher, f"v2c-solar/{account}/site1/site/state")["policy"] == "target"
    expected = {m.topic for h in bridged.homes for m in h.messages() if m.qos == 1}
    wait_until(lambda: expected <= {m.topic for m in watcher.messages()}, "every home's discovery")
    later = Watcher(broker.port)  # what the broker keeps: a client that comes later
    try:
        wait_until(lambda: set(retained_configs(later)) == expected, "the retained discovery")
        configs = retained_configs(later)
    finally:
        later.close()
    for topic, payload in configs.items():
        assert discovery_problems(topic, payload) == []
        assert payload["availability_topic"] == "v2c-solar/availability"
    unique_ids = [p["unique_id"] for p in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids) == len(expected)
    sites = {p["device"]["name"] for p in configs.values() if "via_device" not in p["device"]}
    assert sites == {"v2c-solar acme site1", "v2c-solar zeta site1"}
    nobody = [
        m.topic
        for m in watcher.messages()
        if m.topic.startswith(("v2c-solar/site/", "v2c-solar/SIM"))
    ]
    assert nobody == []  # no home on the single-home topics
    assert not any("SIMB" in t for t in (m.topic for m in watcher.messages()) if "/acme/" in t)
    assert bridged.bridge.connections == 1
    clients = [line for line in broker.log_text().splitlines() if "New client connected" in line]
    assert len(clients) == 3  # two watchers and the one bridge for both homes


def test_a_command_to_account_bs_charger_reaches_b_only(bridged: Bridged, watcher: Watcher) -> None:
    bridged.fleet.run_until(MORNING)
    acme, zeta = bridged.control("acme"), bridged.control("zeta")
    sessions = {
        a: bridged.fleet.accounts[a].daemons[0].controllers[d].sessions
        for a, d in (("acme", "SIMA"), ("zeta", "SIMB"))
    }
    untouched = sessions["acme"].target_wh
    state(watcher, "v2c-solar/zeta/site1/SIMB/state")  # the bridge is connected and subscribed

    watcher.publish("v2c-solar/acme/site1/SIMB/target_kwh/set", "5")  # B's charger on A's topics
    error = watcher.wait_for("v2c-solar/acme/site1/site/error", lambda p: True, "acme's error")
    assert "SIMB" in error.payload
    watcher.publish("v2c-solar/zeta/site1/SIMB/target_kwh/set", "5")
    watcher.publish("v2c-solar/zeta/site1/SIMB/departure/set", "17:00")
    # zeta's worker wakes and applies it (SiteControl's waker), with the clock still
    wait_until(lambda: sessions["zeta"].target_wh == 5000.0, "zeta's target applied")
    assert acme.pending == zeta.pending == 0

    bridged.fleet.run_until(MORNING + timedelta(seconds=TARGET_POLL_S + 1))
    assert sessions["zeta"].target_wh == 5000.0
    assert sessions["zeta"].departure == datetime(2026, 6, 21, 15, 0, tzinfo=UTC)  # 17:00 Vienna
    assert sessions["acme"].target_wh == untouched
    with sqlite3.connect(bridged.folder / "fleet.db") as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM settings WHERE key LIKE '%:target/%'")]
    assert keys == ["zeta:target/SIMB"]  # where `v2c-solar target --account zeta` keeps it
    watcher.wait_for(
        "v2c-solar/zeta/site1/SIMB/state",
        lambda p: json.loads(p)["target_kwh"] == 5.0,
        "zeta's acknowledgement",
    )
    assert all(
        json.loads(m.payload)["target_kwh"] != 5.0
        for m in watcher.messages("v2c-solar/acme/site1/SIMA/state")
    )


# ----- end to end: `run --config fleet.toml` with [mqtt] ------------------------------------------


def test_run_config_fleet_toml_bridges_every_home(tmp_path: Path, broker: Broker) -> None:
    """`v2c-solar run` on a served two-account fleet with `[mqtt]` (the password from a
    variable): both accounts' homes on the broker under their own topics over one
    connection, the password in no output, SIGTERM leaves `offline`, exit 0."""
    fleet = generate_fleet(2, 1, seed=5)
    head = f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nusername = "ha"\n'
    head += 'password_env = "FLEET_MQTT_PW"\nmin_interval_s = 0.1\n'
    path = fleet_toml(tmp_path, fleet, head)
    devices = {a.name: a.sites[0].chargers[0].device_id for a in fleet.accounts}
    listener = Watcher(broker.port)
    with start_fleet_simulator(fleet, speed=600) as served:
        cmd = [sys.executable, "-m", "optimizer.cli.main", "run", "--config"]
        cmd += [str(path), "--db", f"sqlite:///{tmp_path / 'f.db'}"]
        cmd += ["--no-web", "--base-url", served.base_url, "--clock-from-server", "-v"]
        env = {**os.environ, "FLEET_MQTT_PW": SECRET}
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            for name, device in devices.items():
                topic = f"v2c-solar/{name}/site1/{device}/state"
                listener.wait_for(topic, lambda p: json.loads(p)["last_read_at"] is not None, topic)
            assert proc.poll() is None
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            listener.close()
    assert proc.returncode == 0, err
    assert SECRET not in out + err and "MQTT mqtt://ha@127.0.0.1" in err
    assert listener.last("v2c-solar/availability") is not None
    assert listener.messages("v2c-solar/availability")[-1].payload == "offline"
    bridges = [
        line
        for line in broker.log_text().splitlines()
        if "as v2c-solar-" in line and "New client" in line
    ]
    assert len(bridges) == 1, bridges


def test_demo_fleet_publishes_every_generated_home(broker: Broker, watcher: Watcher) -> None:
    """`demo --fleet 2:1 --mqtt URL`: both generated accounts' homes on the broker under
    their own topics (one connection), `offline` when the demo ends."""
    proc = start_demo("--fleet", "2:1", "--hours", "1", "--speed", "2880", "--mqtt", broker.url)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    accounts = [entry["account"] for entry in json.loads(out)["accounts"]]
    assert accounts == ["acct-001", "acct-002"]
    for account in accounts:
        seen = {m.topic for m in watcher.messages() if m.topic.startswith(f"v2c-solar/{account}/")}
        assert f"v2c-solar/{account}/site1/site/state" in seen
        assert any(t.endswith("/state") and f"/{account}-" in t for t in seen), seen
    assert watcher.messages("v2c-solar/availability")[-1].payload == "offline"
    bridges = [line for line in broker.log_text().splitlines() if "as v2c-solar-" in line]
    assert len([line for line in bridges if "New client" in line]) == 1
