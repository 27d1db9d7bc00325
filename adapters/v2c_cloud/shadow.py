"""The vocabulary of the `device/reported` shadow, shared by the client and the simulator.

The reference shows no body for `device/reported`. The only public client of
the API, the Home Assistant "V2C Cloud" integration
(github.com/samuelebistoletti/HomeAssistant-V2C-Cloud), reads it as the
charger's shadow: an object (or that object serialized in a JSON string) whose
keys it looks up case-insensitively, under the Trydan's own register names
(`ChargeState`, `ReadyState`, `Paused`, `Locked`, `Timer`, `Dynamic`,
`PauseDynamic`, `DynamicPowerMode`, `SlaveError`, `FirmwareVersion`, `ID`) or
the cloud's snake_case names (`charge_state`, `pause`, `locked`, `version`,
`device_id`, ...). It treats every power the cloud writes as kW (see
`custom_components/v2c_cloud/local_api.py`, `_REPORTED_TO_REALTIME`).

`DynamicPowerMode` uses the Trydan's own codes (the integration's labels in
`custom_components/v2c_cloud/sensor.py`): 0 timed power on, 1 timed power off,
2 exclusive PV, 3 PV + minimum power, 4 grid + PV, 5 stop. Only 2, 3 and 4
correspond to a `chargefvmode`; mapping "grid + PV" to maximum power (the
charger takes what the setpoint allows, from the grid if need be) is our
reading, not documented.
"""

from __future__ import annotations

from types import MappingProxyType

from optimizer.interfaces import PvMode

DYNAMIC_POWER_MODE: MappingProxyType[PvMode, int] = MappingProxyType(
    {PvMode.EXCLUSIVE_PV: 2, PvMode.PV_MIN: 3, PvMode.MAX_POWER: 4}
)
"""`chargefvmode` -> the shadow's `DynamicPowerMode` code."""

PV_MODE_OF_DYNAMIC_POWER_MODE: MappingProxyType[int, PvMode] = MappingProxyType(
    {code: mode for mode, code in DYNAMIC_POWER_MODE.items()}
)
"""The shadow's `DynamicPowerMode` code -> `chargefvmode` (codes 0, 1, 5 have none)."""
