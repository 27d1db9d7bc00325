"""Per-device configuration the physics does not need, kept so reads reflect writes.

The V2C cloud stores far more about a Trydan than the world model simulates:
display language, logo LED, OCPP, WiFi, inverter IP, meter type, RFID cards,
timers, power profiles. The simulator keeps them here so that, for instance, a
card added with `rfid/tag` shows up in the `rfid` list and a profile saved with
`savepersonalicepower/v2` in `personalicepower/all`. The WiFi password is
stored only as "set" and never returned.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

FIRMWARE_VERSION = "2.1.7"
"""Firmware a simulated Trydan reports until `update` is called (the spec's example)."""

LATEST_FIRMWARE_VERSION = "2.2.0"
"""Firmware a simulated Trydan reports after `update`."""


@dataclass(frozen=True, slots=True)
class Timer:
    """One timer slot: charge between `start_time` and `end_time` (HH:MM, local) if active."""

    start_time: str
    end_time: str
    active: bool


@dataclass(frozen=True, slots=True)
class PowerProfile:
    """One personalized power profile, identified by its name and `updateAt` timestamp."""

    name: str
    update_at: str
    mode: str | None
    value: int | None

    def as_json(self) -> dict[str, object]:
        """The profile as the cloud answers it (`PowerProfile` schema)."""
        body: dict[str, object] = {"name": self.name, "updateAt": self.update_at}
        if self.mode is not None:
            body["mode"] = self.mode
        if self.value is not None:
            body["value"] = self.value
        return body


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 `updateAt` as tz-aware UTC (naive values are taken as UTC)."""
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(slots=True)
class DeviceSettings:
    """Everything configurable about one simulated Trydan beyond the charging physics."""

    device_id: str
    language: int = 0
    logo_led: bool = True
    ocpp_on: bool = False
    ocpp_id: str = ""
    ocpp_addr: str = ""
    inverter_ip: str = ""
    slave_type: int = 0
    inst_type: int = 0
    wifi_ssid: str = "HomeNetwork"
    wifi_password_set: bool = True
    rfid_reader_on: bool = False
    denka_max_power_w: int | None = None
    thirdparty_modes: dict[int, int] = field(default_factory=dict)
    firmware_version: str = FIRMWARE_VERSION
    reboots: int = 0
    rfid_cards: dict[str, str] = field(default_factory=dict)
    timers: dict[int, Timer] = field(default_factory=dict)
    profiles: list[PowerProfile] = field(default_factory=list)

    def learn_rfid(self, tag: str, rng: random.Random) -> str:
        """Register the card the learning state reads: a random 8-hex-digit UID named `tag`."""
        code = f"{rng.getrandbits(32):08x}"
        self.rfid_cards[code] = tag
        return code

    def find_profile(self, *, name: str | None = None, update_at: str | None = None) -> int | None:
        """Index of the profile with this name and/or timestamp (compared as instants)."""
        when = None if update_at is None else parse_timestamp(update_at)
        for i, profile in enumerate(self.profiles):
            if name is not None and profile.name != name:
                continue
            if when is not None and parse_timestamp(profile.update_at) != when:
                continue
            return i
        return None

    def reported_fields(self) -> dict[str, str]:
        """The configuration part of `device/reported`, every value a string.

        The firmware version is the shadow's `FirmwareVersion` (`wire.shadow_body`).
        """
        return {
            "language": str(self.language),
            "logo_led": _flag(self.logo_led),
            "ocpp": _flag(self.ocpp_on),
            "ocpp_id": self.ocpp_id,
            "ocpp_addr": self.ocpp_addr,
            "inverter_ip": self.inverter_ip,
            "slave_type": str(self.slave_type),
            "inst_type": str(self.inst_type),
            "ssid": self.wifi_ssid,
            "set_rfid": _flag(self.rfid_reader_on),
        }


def _flag(on: bool) -> str:
    return "1" if on else "0"
