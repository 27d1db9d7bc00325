"""`quick_init`: a frozen dataclass built through its slots' descriptors is the same value
as one built by the dataclass's own `__init__`, and stays frozen."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from optimizer.controller import CycleResult
from optimizer.cycle.forecast_cache import ForecastLookup
from optimizer.cycle.observation import LastReading, ReadOutcome
from optimizer.forecast.forecaster import _StepsAhead
from optimizer.frozen import quick_init
from optimizer.interfaces import Decision, PvForecast, SessionRecord
from optimizer.policies.base import CommandedState, PolicyContext

QUICK = [
    PolicyContext,
    CommandedState,
    LastReading,
    ReadOutcome,
    CycleResult,
    ForecastLookup,
    _StepsAhead,
    Decision,
    SessionRecord,
    PvForecast,
]


def _twin(cls: type) -> Any:
    """`cls` as a plain frozen, slotted dataclass (the dataclass's own `__init__`)."""
    specs: list[Any] = []
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            specs.append((f.name, f.type, field(default_factory=f.default_factory)))
        elif f.default is not dataclasses.MISSING:
            specs.append((f.name, f.type, field(default=f.default)))
        else:
            specs.append((f.name, f.type))
    return dataclasses.make_dataclass(cls.__name__, specs, frozen=True, slots=True)


def _values(obj: object) -> list[object]:
    return [getattr(obj, f.name) for f in dataclasses.fields(obj)]  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
def test_the_quick_classes_build_what_their_dataclass_builds(cls: type) -> None:
    twin = _twin(cls)
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))
    fields = dataclasses.fields(cls)
    required = {
        f.name: object()
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert _values(cls(**required)) == _values(twin(**required))  # the defaults
    every = {f.name: object() for f in fields}
    assert _values(cls(**every)) == list(every.values())
    assert _values(cls(*every.values())) == list(every.values())  # positionally
    built = cls(**every)
    with pytest.raises(FrozenInstanceError):
        setattr(built, fields[0].name, None)
    with pytest.raises(TypeError):
        cls(**every, unknown=1)
    if required:
        with pytest.raises(TypeError):
            cls()


@quick_init
@dataclass(frozen=True, slots=True)
class _Sample:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Plain:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)


def test_a_quick_value_is_a_frozen_dataclass_value() -> None:
    x, y = _Sample(1), _Sample(1)
    assert x == y and x != _Sample(2)
    assert x.c == [] and x.c is not y.c  # a fresh default per value, as dataclasses do
    assert repr(_Sample(1, "q", [2])) == "_Sample(a=1, b='q', c=[2])"
    assert dataclasses.replace(x, b="z") == _Sample(1, "z", [])
    assert pickle.loads(pickle.dumps(_Sample(3, "p", [4]))) == _Sample(3, "p", [4])
    assert _values(_Sample(5)) == _values(_Plain(5))
    with pytest.raises(FrozenInstanceError):
        x.a = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        _Sample(1, "b", [], 4)  # type: ignore[call-arg]


def test_only_plain_frozen_slotted_dataclasses_are_taken() -> None:
    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int = field(default=0, init=False)

    for cls in (NotFrozen, NoSlots, PostInit, KeywordOnly, NotInInit):
        with pytest.raises(ValueError):
            quick_init(cls)
