"""Frozen dataclasses that are cheap to build: `quick_init`.

A frozen dataclass's generated `__init__` stores each field with
`object.__setattr__(self, name, value)` (its own `__setattr__` refuses): in CPython
3.11 every such call looks the slot wrapper up on `object`, wraps it in a bound
method object and unpacks an argument tuple, about 1,300 machine instructions a field
more than a plain assignment (cachegrind). The control cycle builds several such
values per cycle (a 21-field `PolicyContext` twice per read cycle: ~40,000
instructions each, ~5 % of a read cycle), so this adds up over a backtest year.

`quick_init` replaces that `__init__` by one with the same signature that stores the
fields through the slots' own member descriptors (`Class.field.__set__`), the way a
slot assignment does, without going through `object.__setattr__`. The class stays a
frozen dataclass in every other way: equality, hash, repr, `dataclasses.replace`,
`fields`, pickling, and assignment after construction still raising
`FrozenInstanceError`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


class _Factory:
    """The default of a field with a `default_factory`: call the factory (as dataclasses do)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass `cls` an `__init__` that stores its fields
    through the slots' descriptors (module doc). Only the plain case is taken: every
    field in `__init__`, positional or keyword, with a default, a `default_factory` or
    neither; no `kw_only`, no `__post_init__` (ValueError otherwise)."""
    spec = cls
    params = getattr(cls, "__dataclass_params__", None)
    if not dataclasses.is_dataclass(spec) or params is None or not params.frozen:
        raise ValueError(f"{cls.__name__}: quick_init takes a frozen dataclass with slots")
    if "__slots__" not in cls.__dict__:
        raise ValueError(f"{cls.__name__}: quick_init takes a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise ValueError(f"{cls.__name__}: quick_init does not run __post_init__")
    params_src: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {"__name__": cls.__module__, "_FACTORY": _FACTORY}
    for f in dataclasses.fields(spec):
        name = f.name
        if not f.init or f.kw_only or name == "self":
            raise ValueError(f"{cls.__name__}.{name}: quick_init takes plain fields only")
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
        value = name
        if f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = f.default_factory
            params_src.append(f"{name}=_FACTORY")
            value = f"_factory_{name}() if {name} is _FACTORY else {name}"
        elif f.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = f.default
            params_src.append(f"{name}=_default_{name}")
        else:
            params_src.append(name)
        body.append(f"    _set_{name}(self, {value})\n")
    source = f"def __init__(self, {', '.join(params_src)}):\n" + ("".join(body) or "    pass\n")
    exec(source, namespace)
    init = namespace["__init__"]
    old = cls.__dict__["__init__"]
    init.__qualname__ = old.__qualname__
    init.__annotations__ = dict(old.__annotations__)
    init.__doc__ = old.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning a method
    return cls
