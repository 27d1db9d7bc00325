"""A fleet's homes on one broker: each home's topics and Home Assistant ids under its
account and site.

A fleet home's topics are `<prefix>/<account>/<site>/...` and its discovery node ids
`<prefix>_<account>_<site>_<scope>` (`topics.py`), its site device named
`v2c-solar <account> <site>`: a hundred accounts, each with a `site1`, never share a
topic, a `unique_id` or a device. Account names are topic- and id-safe already
(`[a-z0-9_-]`); a site's name is reduced to Home Assistant's id characters
(`discovery_id`: `Garage A/B` -> `Garage_A_B`, a topic level without `/`, `+` or `#`).
Two homes whose ids would still meet after that (site `b_c` of account `a` and site `c`
of account `a_b`) are refused at start, one line naming both: never a silent collision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adapters.mqtt.config import MqttSettings
from adapters.mqtt.home import MqttHome
from adapters.mqtt.topics import SITE, Topics, discovery_id

if TYPE_CHECKING:
    from optimizer.status.board import StatusBoard
    from optimizer.status.control import SiteControl


class FleetNameError(ValueError):
    """Two homes of a fleet whose MQTT ids would be one; one line naming both."""


@dataclass(frozen=True, slots=True)
class FleetHome:
    """One home of a fleet as the bridge takes it: its account and site names, where its
    daemon publishes (`board`), what steers it (`control`), its zone and charger ids."""

    account: str
    site: str
    board: StatusBoard
    control: SiteControl
    tz: ZoneInfo
    devices: tuple[str, ...]


def home_topics(settings: MqttSettings, account: str, site: str) -> Topics:
    """The topics of `account`'s home `site` under the broker's prefixes."""
    home = f"{account}/{discovery_id(site)}"
    return Topics(settings.topic_prefix, settings.discovery_prefix, home)


def fleet_homes(settings: MqttSettings, homes: Sequence[FleetHome]) -> list[MqttHome]:
    """Each home's part of the bridge; `FleetNameError` when two would share an id."""
    owners: dict[str, str] = {}
    out = []
    for home in homes:
        topics = home_topics(settings, home.account, home.site)
        where = f"account {home.account}, site {home.site!r}"
        for node in (topics.node_id(SITE), *(topics.node_id(d) for d in home.devices)):
            other = owners.setdefault(node, where)
            if other != where:
                raise FleetNameError(
                    f"mqtt: {where} and {other} would share the Home Assistant id {node!r}: "
                    "rename one of the sites ([site] name)"
                )
        label = f"{home.account} {home.site}"
        out.append(MqttHome(home.board, home.control, home.tz, topics, label=label))
    return out


__all__ = ["FleetHome", "FleetNameError", "fleet_homes", "home_topics"]
