"""The session-target rules every front end shares: parse, check, keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.storage import MemoryStore
from optimizer.status.refusal import ControlError
from optimizer.status.target import (
    SessionTarget,
    check_target,
    cleared_target,
    ended,
    load_target,
    mark_ended,
    parse_departure,
    save_target,
)

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 21, 18, 0, tzinfo=UTC)  # 20:00 in Madrid


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def test_hh_mm_later_today_is_today_without_a_note() -> None:
    assert parse_departure("22:15", NOW, MADRID) == parse_departure("today 22:15", NOW, MADRID)
    departure = parse_departure("22:15", NOW, MADRID)
    assert (departure.at, departure.note) == (local(21, 22, 15), None)


def test_hh_mm_already_past_today_means_tomorrow_and_says_so() -> None:
    departure = parse_departure("07:30", NOW, MADRID)
    assert departure.at == local(22, 7, 30)
    assert departure.note == "07:30 has passed today: tomorrow Mon 22 Jun 07:30"


def test_tomorrow_and_iso_times() -> None:
    assert parse_departure("tomorrow 21:00", NOW, MADRID).at == local(22, 21)
    assert parse_departure("Tomorrow  7:05", NOW, MADRID).at == local(22, 7, 5)
    assert parse_departure("2026-06-23T06:00", NOW, MADRID).at == local(23, 6)
    iso_utc = parse_departure("2026-06-23T06:00+00:00", NOW, MADRID).at
    assert iso_utc == datetime(2026, 6, 23, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("25:00", "no such time of day"),
        ("tomorrow", "expected HH:MM"),
        ("soon", "expected HH:MM"),
        (7.5, "must be HH:MM"),
    ],
)
def test_a_bad_departure_is_one_line_naming_it(text: object, why: str) -> None:
    with pytest.raises(ControlError) as info:
        parse_departure(text, NOW, MADRID)
    assert info.value.field == "departure" and why in str(info.value)
    assert "\n" not in str(info.value)


def test_check_target_names_what_is_wrong() -> None:
    ok = check_target("A", 20_000.0, local(22, 7, 30), devices=("A",), now=NOW)
    assert ok == SessionTarget("A", 20_000.0, local(22, 7, 30), NOW)
    cases = [
        ("Z", 20_000.0, local(22, 7), "device_id"),
        ("A", 0.0, local(22, 7), "energy_wh"),
        ("A", 10.0, local(21, 19), "departure"),  # past
        ("A", 10.0, NOW + timedelta(days=8), "departure"),
    ]
    for device, energy, departure, field in cases:
        with pytest.raises(ControlError) as info:
            check_target(device, energy, departure, devices=("A",), now=NOW)
        assert info.value.field == field


def test_a_target_is_kept_replaced_and_cleared_in_the_store() -> None:
    store = MemoryStore()
    assert load_target(store, "A") is None
    first = check_target("A", 20_000.0, local(22, 7, 30), devices=("A",), now=NOW)
    save_target(store, first)
    assert load_target(store, "A") == first
    cleared = cleared_target("A", NOW + timedelta(minutes=5))
    save_target(store, cleared)
    loaded = load_target(store, "A")
    assert loaded == cleared and loaded is not None and loaded.cleared


def test_an_ended_target_is_known_as_ended_and_a_new_one_is_not() -> None:
    store = MemoryStore()
    first = check_target("A", 20_000.0, local(22, 7, 30), devices=("A",), now=NOW)
    assert not ended(store, first)
    mark_ended(store, first)
    assert ended(store, first)
    soon = NOW + timedelta(minutes=1)
    later = check_target("A", 5_000.0, local(22, 7, 30), devices=("A",), now=soon)
    assert not ended(store, later)


def test_a_setting_that_is_no_target_is_a_one_line_error() -> None:
    store = MemoryStore()
    store.record_setting("target/A", "{not json")
    with pytest.raises(ValueError, match="setting target/A") as info:
        load_target(store, "A")
    assert "\n" not in str(info.value)
