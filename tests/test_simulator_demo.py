"""The demo's simulator wiring: the daemon's clock anchored on the simulator's."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from adapters.simulator.demo import simulator_clock
from optimizer.clock import ScaledClock

SPEED = 1000.0
T0 = datetime(2026, 6, 21, 8, 0, tzinfo=UTC)


def test_clock_anchors_on_the_fastest_round_trip_not_a_slow_first_answer() -> None:
    """A first answer that took 0.2 wall s to arrive (a new connection, a world
    catching up) must not leave the daemon 200 simulated s behind the server."""
    server = ScaledClock(T0, SPEED)
    answers = 0

    def fetch() -> dict[str, Any]:
        nonlocal answers
        body = {"time": server.now().isoformat(), "speed": SPEED}
        answers += 1
        if answers == 1:
            time.sleep(0.2)  # the time was read, the answer is slow to arrive
        return body

    clock = simulator_clock("http://unused", fetch=fetch)
    skew_s = (server.now() - clock.now()).total_seconds()
    assert clock.speed == SPEED
    assert abs(skew_s) < 20.0  # 20 ms of wall time at 1000x; the slow sample alone: 200 s
