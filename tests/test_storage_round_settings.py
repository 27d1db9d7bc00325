"""`RoundStore` reads an account's settings once per round (the fleet's target polls)."""

from __future__ import annotations

from pathlib import Path

from adapters.storage import SqlStore
from adapters.storage.retrying import RoundStore


def _stores(tmp_path: Path) -> tuple[SqlStore, RoundStore, SqlStore]:
    root = SqlStore(f"sqlite:///{tmp_path / 'fleet.db'}")
    return root, RoundStore(root.for_account("a_1")), root.for_account("b%1")


def test_a_round_sees_its_own_writes_and_the_next_round_sees_another_process(
    tmp_path: Path,
) -> None:
    root, rounds, _ = _stores(tmp_path)
    writer = root.for_account("a_1")
    writer.record_setting("target:D1", "first")
    writer.commit()
    assert rounds.setting("target:D1") == "first"
    writer.record_setting("target:D1", "second")
    writer.commit()
    assert rounds.setting("target:D1") == "first"  # read once in the round
    rounds.record_setting("target:D2", "mine")
    assert rounds.setting("target:D2") == "mine"  # pending wins
    rounds.flush()
    assert rounds.setting("target:D1") == "second"
    assert rounds.setting("target:D2") == "mine"
    assert rounds.setting("target:D3") is None
    root.close()


def test_an_account_reads_only_its_own_rows_whatever_its_name(tmp_path: Path) -> None:
    root, rounds, other = _stores(tmp_path)
    other.record_setting("target:D1", "b's")
    other.commit()
    neighbour = root.for_account("aX1")  # matches "a_1" as a LIKE pattern
    neighbour.record_setting("target:D1", "aX1's")
    neighbour.commit()
    assert rounds.setting("target:D1") is None
    assert root.for_account("a_1").committed_settings() == {}
    assert other.committed_settings() == {"target:D1": "b's"}
    root.close()


def test_committed_settings_equal_the_single_lookups(tmp_path: Path) -> None:
    root, _, _ = _stores(tmp_path)
    store = root.for_account("a_1")
    for i in range(5):
        store.record_setting(f"k{i}", f"v{i}")
    store.commit()
    snapshot = store.committed_settings()
    assert snapshot == {f"k{i}": store.setting(f"k{i}") for i in range(5)}
    root.close()
