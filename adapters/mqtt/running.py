"""The bridge beside a serving daemon: what `run` and `demo` call for `--mqtt` / `[mqtt]`.

One home (`running_bridge`) or a fleet's homes (`running_homes`), one broker
connection either way.

aiomqtt is imported only when a broker is configured: a daemon without MQTT
loads none of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adapters.mqtt.config import MqttConfig, MqttSettings, MqttUrlError, parse_mqtt_url

if TYPE_CHECKING:
    from adapters.mqtt.bridge import MqttBridge
    from adapters.mqtt.home import MqttHome
    from optimizer.status.board import StatusBoard
    from optimizer.status.control import SiteControl


def mqtt_settings(url: str | None, config: MqttConfig | None) -> MqttSettings | None:
    """The broker from `--mqtt` (`url`, which wins) and `[mqtt]`; None when neither asks.

    Raises `MqttUrlError` (one line, no password) for a bad URL or an unset `password_env`.
    """
    if config is not None:
        return config.settings(url)
    if url is None:
        return None
    try:
        return parse_mqtt_url(url)
    except MqttUrlError as exc:
        raise MqttUrlError(f"--mqtt: {exc}") from None


@contextmanager
def running_bridge(
    settings: MqttSettings | None,
    board: StatusBoard | None,
    control: SiteControl,
    tz: ZoneInfo,
) -> Iterator[None]:
    """The MQTT bridge connected in the background while the block runs; nothing without
    settings. On the way out it publishes `offline` and disconnects."""
    if settings is None:
        yield
        return
    if board is None:
        raise ValueError("MQTT needs a daemon that publishes its status (a StatusBoard)")
    from adapters.mqtt.bridge import MqttBridge

    with _started(MqttBridge.for_home(settings, board, control, tz)):
        yield


@contextmanager
def running_homes(settings: MqttSettings, homes: Sequence[MqttHome]) -> Iterator[None]:
    """One bridge over `homes` (a fleet's, `fleet.fleet_homes`) while the block runs."""
    from adapters.mqtt.bridge import MqttBridge

    with _started(MqttBridge(settings, homes)):
        yield


@contextmanager
def _started(bridge: MqttBridge) -> Iterator[None]:
    """`bridge` connected in the background; on the way out `offline` and disconnected."""
    bridge.start()
    try:
        yield
    finally:
        bridge.stop()


__all__ = ["mqtt_settings", "running_bridge", "running_homes"]
