"""`MemoryStore` specifics: importable without SQLAlchemy, and plain lists to analyse."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.storage import MemoryStore, QueryableStore
from tests.conftest import make_call, make_reading

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
