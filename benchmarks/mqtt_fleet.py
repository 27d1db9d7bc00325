"""A fleet on MQTT: one broker connection for every home against one connection per home.

`--fleet ACCOUNTS:CHARGERS` homes (one site per account) publish a synthetic status on
their `StatusBoard`, as a fleet daemon's would, to a real Mosquitto on a free loopback
port. `one` is what `run --config fleet.toml` does (one `MqttBridge` over every home,
`adapters.mqtt.fleet`); `per-home` gives each home a bridge of its own (its own thread,
socket and last will, prefix `v2c-solar/<account>/site1`). Measured for each: the wall
seconds and process CPU seconds until a subscriber has every home's discovery and state
(the announce), then for `--rounds` rounds in which every home publishes a changed status
(each charger's power, the site's PV), the wall and CPU seconds until the subscriber has
every round's last state; the process's threads and RSS; and whether the broker dropped
messages for the subscriber (Mosquitto queues at most `max_queued_messages`, 1000 by
default, for a client that reads slower than they come: `--queue 0` lifts the limit). An
announce the subscriber never completes (messages dropped) is reported after 120 s as
`announce_complete: false`.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/mqtt_fleet.py --fleet 100:10 --mode one
    PYTHONPATH=$PWD .venv/bin/python benchmarks/mqtt_fleet.py --fleet 100:10 --mode per-home
    PYTHONPATH=$PWD .venv/bin/python benchmarks/mqtt_fleet.py --mode per-home --queue 0
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psutil

from adapters.mqtt.bridge import MqttBridge
from adapters.mqtt.config import MqttSettings, parse_mqtt_url
from adapters.mqtt.fleet import FleetHome, fleet_homes
from optimizer.status.board import StatusBoard
from optimizer.status.control import SiteControl
from optimizer.status.snapshot import SiteStatus
from tests.test_mqtt_bridge import POLICIES, TZ, Broker, Watcher, charger, site

WAIT_S = 120.0


def _status(account: int, chargers: int, watts: float) -> SiteStatus:
    devices = tuple(charger(f"A{account:03d}C{c:02d}", power_w=watts + c) for c in range(chargers))
    return replace(site(), pv_w=5000.0 + watts, chargers=devices)


def _homes(accounts: int, chargers: int) -> list[FleetHome]:
    out = []
    for a in range(accounts):
        board = StatusBoard()
        board.publish(_status(a, chargers, 0.0))
        devices = tuple(c.device_id for c in board.current().chargers)
        control = SiteControl(list(devices), POLICIES)
        out.append(FleetHome(f"acct-{a:03d}", "site1", board, control, TZ, devices))
    return out


def _bridges(mode: str, mqtt: MqttSettings, homes: list[FleetHome]) -> list[MqttBridge]:
    if mode == "one":
        return [MqttBridge(mqtt, fleet_homes(mqtt, homes))]
    return [
        MqttBridge.for_home(
            replace(mqtt, topic_prefix=f"v2c-solar/{h.account}/site1"), h.board, h.control, h.tz
        )
        for h in homes
    ]


def _wait(condition: Callable[[], bool]) -> bool:
    """Whether `condition` came true within `WAIT_S`."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _topics(watcher: Watcher) -> set[str]:
    """The distinct discovery and state topics the subscriber has seen."""
    return {m.topic for m in watcher.messages() if not m.topic.endswith("/availability")}


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _timed(proc: psutil.Process, run: Callable[[], bool]) -> tuple[float, float, bool]:
    """Wall and CPU seconds of `run`, and what it returned."""
    wall0, cpu0 = time.monotonic(), _cpu(proc)
    done = run()
    return time.monotonic() - wall0, _cpu(proc) - cpu0, done


def measure(
    accounts: int, chargers: int, mode: str, rounds: int, queue: int | None
) -> dict[str, object]:
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as folder:
        extra = "" if queue is None else f"max_queued_messages {queue}\n"
        broker = Broker(Path(folder), extra)
        broker.start()
        watcher = Watcher(broker.port)
        try:
            _wait(watcher.client.is_connected)
            homes = _homes(accounts, chargers)
            mqtt = replace(parse_mqtt_url(broker.url), min_interval_s=0.0)
            bridges = _bridges(mode, mqtt, homes)
            per_home = 5 + 7 * chargers + 1 + chargers  # discovery + state messages
            expected = accounts * per_home

            def announce() -> bool:
                for bridge in bridges:
                    bridge.start()
                return _wait(lambda: len(_topics(watcher)) >= expected)

            announce_s = _timed(proc, announce)
            threads = threading.active_count()

            def publish_rounds() -> bool:
                for r in range(1, rounds + 1):
                    for a, h in enumerate(homes):
                        h.board.publish(_status(a, chargers, float(r)))
                last = f"v2c-solar/{homes[-1].account}/site1/{homes[-1].devices[-1]}/state"
                watts = rounds + chargers - 1
                return _wait(
                    lambda: any(
                        json.loads(m.payload)["power_w"] == watts for m in watcher.messages(last)
                    )
                )

            rounds_s = _timed(proc, publish_rounds)
            clients = broker.log_text().count("New client connected")
            drops = broker.log_text().count("are being dropped")
            for bridge in bridges:
                bridge.stop()
        finally:
            watcher.close()
            broker.kill()
    return {
        "mode": mode,
        "accounts": accounts,
        "chargers_per_account": chargers,
        "broker_connections": clients - 1,
        "threads": threads,
        "rss_mb": round(proc.memory_info().rss / 2**20, 1),
        "max_queued_messages": "mosquitto default" if queue is None else queue,
        "subscriber_drop_warnings": drops,
        "announce_messages": expected,
        "announce_complete": announce_s[2],
        "announce_wall_s": round(announce_s[0], 2),
        "announce_cpu_s": round(announce_s[1], 2),
        "rounds": rounds,
        "rounds_wall_s": round(rounds_s[0], 2),
        "rounds_cpu_s": round(rounds_s[1], 2),
        "rounds_complete": rounds_s[2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", default="100:10", help="ACCOUNTS:CHARGERS")
    parser.add_argument("--mode", choices=("one", "per-home"), default="one")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queue", type=int, default=None, help="max_queued_messages")
    args = parser.parse_args()
    accounts, chargers = (int(x) for x in args.fleet.split(":"))
    print(json.dumps(measure(accounts, chargers, args.mode, args.rounds, args.queue)))


if __name__ == "__main__":
    main()
