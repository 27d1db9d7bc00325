"""`MemoryStore` specifics: importable without SQLAlchemy, and plain lists to analyse."""

from __future__ import annotations

import inspect
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.storage import MemoryStore, QueryableStore
from tests.conftest import STORE_T0, make_call, make_reading

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_memory_store_does_not_import_sqlalchemy() -> None:
    loaded = _modules_after("from adapters.storage.memory import MemoryStore")
    assert "adapters.storage.memory" in loaded
    assert not any(name == "sqlalchemy" or name.startswith("sqlalchemy.") for name in loaded)


def test_package_import_stays_light_until_sql_store_is_asked_for() -> None:
    assert "sqlalchemy" not in _modules_after("from adapters.storage import MemoryStore")
    assert "sqlalchemy" in _modules_after("from adapters.storage import SqlStore")


@pytest.mark.parametrize("name", sorted(n for n in dir(QueryableStore) if not n.startswith("_")))
def test_both_stores_have_every_port_method_with_its_parameters(name: str) -> None:
    from adapters.storage import SqlStore

    expected = list(inspect.signature(getattr(QueryableStore, name)).parameters)
    for implementation in (MemoryStore, SqlStore):
        method = getattr(implementation, name)
        assert list(inspect.signature(method).parameters) == expected, implementation


def test_records_are_kept_as_given_in_public_lists() -> None:
    store = MemoryStore()
    calls = [make_call(m) for m in range(1000)]
    for call in calls:
        store.record_call(call)
    store.record_observation(make_reading(0))
    store.commit()
    assert store.calls == calls
    assert store.observations == [make_reading(0)]
    assert repr(store).startswith("MemoryStore(api_calls=1000, observations=1,")


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["record", "record", "record", "append", "ask", "replace", "pop"]),
            st.integers(-5, 30),  # a call's minute after the last one, may go back
            st.integers(-10, 200),  # asked from this minute
            st.integers(0, 120),  # for this many minutes
        ),
        max_size=60,
    )
)
def test_calls_between_is_the_filtered_and_sorted_calls(
    steps: list[tuple[str, int, int, int]],
) -> None:
    """Bisection on a list in time order gives what filtering and sorting every call
    gives, also after calls out of order, appended to the public list directly, the
    list replaced or cut."""
    store = MemoryStore()
    minute = 0
    for kind, gap, start, span in steps:
        minute += gap
        if kind == "record":
            store.record_call(make_call(minute))
        elif kind == "append":
            store.calls.append(make_call(minute))
        elif kind == "replace":
            store.calls = sorted(store.calls, key=lambda c: c.time)
        elif kind == "pop" and store.calls:
            store.calls.pop()
        lo = STORE_T0 + timedelta(minutes=start)
        hi = lo + timedelta(minutes=span)
        expected = sorted((c for c in store.calls if lo <= c.time < hi), key=lambda c: c.time)
        got = store.calls_between(lo, hi)
        assert got == expected
        assert [id(c) for c in got] == [id(c) for c in expected]  # ties in recorded order
