"""One home on the bridge: its board, topics, discovery and commands.

The bridge (`bridge.py`) owns the connection; a home owns what is its own: the newest
status its daemon published (kept by the board's listener, read by the loop), the
messages that status makes (discovery configs, then the site's and each charger's
state) and the handler that turns a command on its topics into a call to its own
`SiteControl`. A single home is one `MqttHome`; a fleet is one per site
(`fleet.py`), all on one connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from adapters.mqtt.commands import CommandHandler
from adapters.mqtt.discovery import Discovery
from adapters.mqtt.state import charger_state, site_state
from adapters.mqtt.topics import SITE, Topics

if TYPE_CHECKING:
    from optimizer.status.board import StatusBoard
    from optimizer.status.control import SiteControl
    from optimizer.status.snapshot import SiteStatus


@dataclass(frozen=True, slots=True)
class Message:
    """One retained message a status makes: discovery configs at QoS 1, states at 0."""

    topic: str
    payload: dict[str, Any]
    qos: int = 0


class MqttHome:
    """A home's part of the bridge. `tz` is its zone (departures typed as `HH:MM`);
    `label` tells a fleet's homes apart in Home Assistant (None: one home)."""

    def __init__(
        self,
        board: StatusBoard,
        control: SiteControl,
        tz: ZoneInfo,
        topics: Topics,
        label: str | None = None,
    ) -> None:
        self.board = board
        self.tz = tz
        self.topics = topics
        self.discovery = Discovery(topics, label=label)
        self.commands = CommandHandler(control, topics, tz, self.current)
        self.latest: SiteStatus = board.current()

    def current(self) -> SiteStatus:
        """The newest status the board handed over (any thread may replace it)."""
        return self.latest

    def messages(self) -> Iterator[Message]:
        """The newest status's discovery configs and state JSONs; none before the
        daemon's first publish (the board's empty site has no policies)."""
        status = self.latest
        if not status.policies:
            return
        for config in self.discovery.messages(status):
            yield Message(config.topic, config.payload, qos=1)
        yield Message(self.topics.state(SITE), site_state(status))
        for charger in status.chargers:
            yield Message(self.topics.state(charger.device_id), charger_state(charger, self.tz))


__all__ = ["Message", "MqttHome"]
