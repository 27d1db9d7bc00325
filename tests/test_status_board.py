"""The status board: thread-safe snapshots, subscribe/unsubscribe, waiting for a change."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

from optimizer.status import ChargerStatus, DecisionStatus, SiteStatus, StatusBoard

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def status(n: int) -> SiteStatus:
    """A site whose every figure is `n` (so a torn read would show mixed numbers)."""
    decision = DecisionStatus(T0, "A", "max_power", float(n), f"reason {n}")
    charger = ChargerStatus(
        device_id="A",
        name="garage",
        state="charging",
        power_w=float(n),
        current_a=float(n),
        pv_mode="max_power",
        paused=False,
        session_energy_wh=float(n),
        session_solar_wh=float(n),
        target_wh=None,
        departure=None,
        last_read_at=T0,
        last_decision=decision,
    )
    return replace(
        SiteStatus.empty(T0),
        policy="solar_only",
        policies=("solar_only", "target"),
        pv_w=float(n),
        house_w=float(n),
        calls_today=n,
        chargers=(charger,),
        decisions=(decision,),
    )


def test_current_is_empty_before_the_first_publish_then_the_last_published() -> None:
    board = StatusBoard()
    assert board.version == 0
    assert board.current().chargers == ()
    board.publish(status(1))
    board.publish(status(2))
    assert board.version == 2
    assert board.current().calls_today == 2
    assert board.current().version == 2


def test_subscribers_see_every_publish_until_they_unsubscribe() -> None:
    board = StatusBoard()
    seen: list[int] = []
    unsubscribe = board.subscribe(lambda s: seen.append(s.calls_today))
    board.publish(status(1))
    board.publish(status(2))
    unsubscribe()
    unsubscribe()  # twice is harmless
    board.publish(status(3))
    assert seen == [1, 2]


def test_a_failing_listener_never_stops_the_publisher_nor_the_others() -> None:
    board = StatusBoard()
    seen: list[int] = []

    def broken(s: SiteStatus) -> None:
        raise RuntimeError("listener bug")

    board.subscribe(broken)
    board.subscribe(lambda s: seen.append(s.version))
    board.publish(status(1))
    assert seen == [1]


def test_wait_for_change_returns_at_once_when_already_past_the_version() -> None:
    board = StatusBoard()
    board.publish(status(1))
    started = time.monotonic()
    assert board.wait_for_change(0, timeout_s=5.0).version == 1
    assert time.monotonic() - started < 1.0


def test_wait_for_change_wakes_on_the_next_publish_or_times_out() -> None:
    board = StatusBoard()
    board.publish(status(1))
    timer = threading.Timer(0.1, board.publish, args=[status(2)])
    timer.start()
    got = board.wait_for_change(1, timeout_s=5.0)
    timer.join()
    assert (got.version, got.calls_today) == (2, 2)
    started = time.monotonic()
    assert board.wait_for_change(2, timeout_s=0.1).version == 2  # nothing new: the current
    assert time.monotonic() - started >= 0.09


def test_readers_in_other_threads_never_see_a_torn_status() -> None:
    board = StatusBoard()
    board.publish(status(0))
    stop = threading.Event()
    torn: list[SiteStatus] = []
    versions: list[int] = []

    def reader() -> None:
        last = 0
        while not stop.is_set():
            s = board.current()
            c = s.chargers[0]
            if not (s.calls_today == s.pv_w == c.power_w == s.decisions[0].current_a):
                torn.append(s)
            if s.version < last:
                torn.append(s)
            last = s.version
            versions.append(s.version)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for n in range(1, 2001):
        board.publish(status(n))
    stop.set()
    for t in threads:
        t.join(5.0)
    assert torn == []
    assert board.version == 2001
    assert max(versions) > 1  # the readers ran while publishing


def test_to_json_is_plain_json_with_iso_utc_times() -> None:
    import json

    body = status(7).to_json()
    assert json.loads(json.dumps(body)) == body
    assert body["policy"] == "solar_only"
    assert body["chargers"][0]["device_id"] == "A"
    assert body["chargers"][0]["last_read_at"] == "2026-06-21T10:00:00+00:00"
    assert body["decisions"][0]["reason"] == "reason 7"
    assert {"pv_w", "house_w", "calls_today", "calls_left", "chargers"} <= set(body)
