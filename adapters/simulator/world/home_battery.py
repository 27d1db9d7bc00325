"""A home battery in self-consumption mode, and the energy flows of a home with one.

How it behaves (the usual "self-consumption" / "maximise self-use" mode of an
AC-coupled battery or a hybrid inverter, e.g. a Huawei LUNA behind the Huawei
meter or a Solax battery behind the Solax meter): each step it drives the grid
meter towards zero within its power limits. It sees the whole home at the meter,
*the car included*: it charges from whatever would be exported after the household
and the car, and it discharges to cover whatever would be imported, the car's draw
included, until its reserve (`min_soc`). Nothing tells it which load is the car, so
a car that draws more than the sun gives is fed by the battery before the grid:
that is the drain the controller avoids (evcc's docs describe the battery's default
the same way: net zero on the grid meter, all loads and the charger included).

What the Trydan sees (our assumption, V2C documents nothing): with an inverter's
meter it measures the grid at the same connection point and the PV, and reports
`house_power` = grid + PV = household + car - battery power, beside the battery's
own power in `battery`. Its own PV modes regulate on that meter (a surplus = export
+ its own draw), so a charging battery looks like a load (the charger starts only
once the battery is full or at its power limit) and a discharging one like a
source: a charger that is already charging keeps its current while the battery
covers the shortfall, exactly the wallbox behaviour users report ("the wallbox
discharges the PV battery if PV power lowers and the grid power doesn't go up",
iobroker-community-adapters/ioBroker.kecontact#178). In the world the battery answers
the household and the PV at once (it regulates within a second or two) but the car
with one step of lag: the charger regulates on the meter as the battery leaves it
for the car's draw of the previous step (`answer_w`), which is how two controllers
on one meter see each other without a step-long household change looking like an
export.

Sign: `power_w` > 0 while discharging (power into the home, like PV), < 0 while
charging. Round-trip efficiency is split evenly (its square root each way); the
state of charge counts stored energy. A step's power holds for the step; no
ramps, no standby losses, never charging from the grid nor exporting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from adapters.simulator.world.scenario import HomeBatteryConfig


@dataclass(slots=True)
class HomeFlows:
    """Energy sums of a home with a battery since the start (Wh, AC side).

    `charged_wh` went into the battery, `discharged_wh` came out of it, of which
    `to_car_wh` fed the car (the battery covers the household first, then the car);
    `grid_import_wh` / `grid_export_wh` is what the grid meter counted with the
    battery in place.
    """

    charged_wh: float = 0.0
    discharged_wh: float = 0.0
    to_car_wh: float = 0.0
    grid_import_wh: float = 0.0
    grid_export_wh: float = 0.0


class HomeBattery:
    """One home's battery: its state of charge, its last power and the home's flows."""

    def __init__(self, config: HomeBatteryConfig) -> None:
        self.config = config
        self.capacity_wh = config.capacity_kwh * 1000.0
        self.soc = config.initial_soc
        self.power_w = 0.0
        self.flows = HomeFlows()
        self._eff = math.sqrt(config.round_trip_efficiency)
        """One way's efficiency: the round trip's square root."""

    def answer_w(self, net_w: float, dt_s: float) -> float:
        """The power (W, + discharging) it would answer a net draw of `net_w` at the meter
        with for `dt_s` seconds (W, household + car - PV), without changing its state."""
        h = dt_s / 3600.0
        if net_w < 0.0:
            room_wh = (1.0 - self.soc) * self.capacity_wh
            return -max(0.0, min(-net_w, self.config.max_charge_w, room_wh / (self._eff * h)))
        if net_w > 0.0:
            stored_wh = (self.soc - self.config.min_soc) * self.capacity_wh
            return max(0.0, min(net_w, self.config.max_discharge_w, stored_wh * self._eff / h))
        return 0.0

    def step(self, pv_w: float, household_w: float, car_w: float, dt_s: float) -> float:
        """Dispatch one step of `dt_s` seconds; the battery's power (W, + discharging).

        `household_w` is the household without the car, `car_w` the car's draw: the
        battery answers the home's net draw at the meter, both together.
        """
        net_w = household_w + car_w - pv_w
        power_w = self.answer_w(net_w, dt_s)
        h = dt_s / 3600.0
        cap = self.capacity_wh
        if power_w < 0.0:
            self.soc = min(1.0, self.soc - power_w * h * self._eff / cap)
        elif power_w > 0.0:
            self.soc = max(self.config.min_soc, self.soc - power_w * h / (self._eff * cap))
        self._account(power_w, net_w, max(household_w - pv_w, 0.0), car_w, h)
        self.power_w = power_w
        return power_w

    def _account(
        self, power_w: float, net_w: float, house_deficit_w: float, car_w: float, h: float
    ) -> None:
        flows = self.flows
        if power_w < 0.0:
            flows.charged_wh -= power_w * h
        elif power_w > 0.0:
            flows.discharged_wh += power_w * h
            flows.to_car_wh += min(max(power_w - house_deficit_w, 0.0), car_w) * h
        grid_w = net_w - power_w
        if grid_w > 0.0:
            flows.grid_import_wh += grid_w * h
        else:
            flows.grid_export_wh -= grid_w * h
