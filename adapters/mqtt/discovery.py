"""Home Assistant MQTT discovery: the retained config messages that make the entities appear.

Single-component discovery, one message per entity under
`<discovery_prefix>/<component>/<node_id>/<object_id>/config`. Home Assistant gets
one device per charger (power, current, state, session energy, solar share; a
`number` for the session's target kWh and a `text` for its departure) and one for
the site (PV and house power, API calls today and left; a `select` for the policy),
each charger's device linked to the site's (`via_device`). Every entity reads a
field of a state JSON (`value_template`), is unavailable while the bridge is
offline (`availability_topic`, the last will) and has a `unique_id`, so a
renamed entity survives a restart. A fleet's home names its site device after its
account and site (`v2c-solar acme garage`), so a hundred of them read apart in Home
Assistant; a single home's is `v2c-solar`, as it always was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from adapters.mqtt.topics import SITE, Command, Topics

if TYPE_CHECKING:
    from optimizer.status.snapshot import ChargerStatus, SiteStatus

ORIGIN_NAME = "v2c-solar"
TARGET_KWH_MAX = 150.0
"""The largest target the number entity offers (kWh): more than any car's battery."""
DEPARTURE_PATTERN = r"^$|^\d{1,2}:\d{2}$|^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}"
"""What the departure text accepts: empty (clear), `HH:MM`, or an ISO date and time."""


@dataclass(frozen=True, slots=True)
class DiscoveryMessage:
    """One retained config message."""

    topic: str
    payload: dict[str, Any]


def software_version() -> str:
    """The installed v2c-solar's version ("unknown" when run from a source tree)."""
    try:
        return metadata.version("v2c-solar")
    except metadata.PackageNotFoundError:
        return "unknown"


def _value(field: str) -> str:
    return "{{ value_json." + field + " }}"


class Discovery:
    """Builds the discovery messages of a site from its status.

    `label` tells a fleet's homes apart in the site device's name (None: one home).
    """

    def __init__(
        self, topics: Topics, version: str | None = None, label: str | None = None
    ) -> None:
        self.topics = topics
        self.version = version or software_version()
        self.site_name = ORIGIN_NAME if label is None else f"{ORIGIN_NAME} {label}"

    def messages(self, status: SiteStatus) -> list[DiscoveryMessage]:
        """Every entity of the site and of its chargers."""
        out = list(self._site(status))
        for charger in status.chargers:
            out.extend(self._charger(charger))
        return out

    # ----- the site -----------------------------------------------------------------

    def _site(self, status: SiteStatus) -> Iterator[DiscoveryMessage]:
        device = {
            "identifiers": [self.topics.node_id(SITE)],
            "name": self.site_name,
            "manufacturer": "v2c-solar",
            "model": "Solar charging controller",
            "sw_version": self.version,
        }
        yield self._sensor(SITE, device, "pv_power", "PV power", "pv_w", power=True)
        yield self._sensor(SITE, device, "house_power", "House power", "house_w", power=True)
        yield self._sensor(
            SITE, device, "calls_today", "API calls today", "calls_today", icon="mdi:api"
        )
        yield self._sensor(
            SITE, device, "calls_left", "API calls left", "calls_left", icon="mdi:api"
        )
        yield self._entity(
            "select",
            SITE,
            device,
            "policy",
            "Policy",
            {
                "state_topic": self.topics.site_state,
                "value_template": _value("policy"),
                "command_topic": self.topics.command(Command.POLICY, SITE),
                "options": list(status.policies),
                "optimistic": False,
                "icon": "mdi:solar-power-variant",
            },
        )

    # ----- a charger ----------------------------------------------------------------

    def _charger(self, charger: ChargerStatus) -> Iterator[DiscoveryMessage]:
        scope = charger.device_id
        device = {
            "identifiers": [self.topics.node_id(scope)],
            # the device map of older Home Assistants refuses keys it does not know
            # (serial_number came in 2024): only long-standing ones here
            "name": f"Trydan {charger.name or charger.device_id}",
            "manufacturer": "V2C",
            "model": "Trydan",
            "via_device": self.topics.node_id(SITE),
        }
        yield self._sensor(scope, device, "power", "Power", "power_w", power=True)
        yield self._sensor(
            scope,
            device,
            "current",
            "Current",
            "current_a",
            extra={"device_class": "current", "unit_of_measurement": "A"},
        )
        yield self._entity(
            "sensor",
            scope,
            device,
            "state",
            "State",
            {
                "state_topic": self.topics.state(scope),
                "value_template": _value("state"),
                "icon": "mdi:ev-station",
            },
        )
        yield self._entity(
            "sensor",
            scope,
            device,
            "session_energy",
            "Session energy",
            {
                "state_topic": self.topics.state(scope),
                "value_template": _value("session_energy_kwh"),
                "device_class": "energy",
                "state_class": "total_increasing",
                "unit_of_measurement": "kWh",
                "suggested_display_precision": 2,
            },
        )
        yield self._sensor(
            scope,
            device,
            "solar_share",
            "Session solar share",
            "solar_share_pct",
            icon="mdi:solar-power",
            extra={"unit_of_measurement": "%"},
        )
        yield self._entity(
            "number",
            scope,
            device,
            "target_kwh",
            "Session target",
            {
                "state_topic": self.topics.state(scope),
                "value_template": _value("target_kwh"),
                "command_topic": self.topics.command(Command.TARGET_KWH, scope),
                "min": 0.0,
                "max": TARGET_KWH_MAX,
                "step": 0.5,
                "unit_of_measurement": "kWh",
                "mode": "box",
                "optimistic": False,
                "icon": "mdi:battery-charging",
            },
        )
        yield self._entity(
            "text",
            scope,
            device,
            "departure",
            "Departure",
            {
                "state_topic": self.topics.state(scope),
                "value_template": _value("departure_local"),
                "command_topic": self.topics.command(Command.DEPARTURE, scope),
                "min": 0,
                "max": 32,
                "mode": "text",
                "pattern": DEPARTURE_PATTERN,
                "icon": "mdi:clock-end",
            },
        )

    # ----- shared -------------------------------------------------------------------

    def _sensor(
        self,
        scope: str,
        device: dict[str, Any],
        object_id: str,
        name: str,
        field: str,
        *,
        power: bool = False,
        icon: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> DiscoveryMessage:
        """A numeric measurement read from `field` of the scope's state JSON."""
        config: dict[str, Any] = {
            "state_topic": self.topics.state(scope),
            "value_template": _value(field),
            "state_class": "measurement",
        }
        if power:
            config |= {"device_class": "power", "unit_of_measurement": "W"}
        if icon:
            config["icon"] = icon
        return self._entity("sensor", scope, device, object_id, name, config | (extra or {}))

    def _entity(
        self,
        component: str,
        scope: str,
        device: dict[str, Any],
        object_id: str,
        name: str,
        config: dict[str, Any],
    ) -> DiscoveryMessage:
        payload = {
            "name": name,
            "unique_id": f"{self.topics.node_id(scope)}_{object_id}",
            "device": device,
            "availability_topic": self.topics.availability,
            "origin": {"name": ORIGIN_NAME, "sw_version": self.version},
            **config,
        }
        return DiscoveryMessage(self.topics.discovery(component, scope, object_id), payload)


__all__ = ["Discovery", "DiscoveryMessage", "software_version"]
