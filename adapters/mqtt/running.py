"""The bridge beside a serving daemon: what `run` and `demo` call for `--mqtt` / `[mqtt]`.

aiomqtt is imported only when a broker is configured: a daemon without MQTT
loads none of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adapters.mqtt.config import MqttConfig, MqttSettings, MqttUrlError, parse_mqtt_url

if TYPE_CHECKING:
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

    bridge = MqttBridge(settings, board, control, tz)
    bridge.start()
    try:
        yield
    finally:
        bridge.stop()


__all__ = ["mqtt_settings", "running_bridge"]
