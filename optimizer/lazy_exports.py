"""A package's public names, each imported from its submodule on first access (PEP 562).

Packages such as `optimizer.daemon` and `optimizer.forecast` re-export their
submodules' classes; importing them all in `__init__` made any submodule
import (even of a small one) load pvlib, pandas and scipy. With
`__getattr__ = lazy_exports(__name__, {...})` the package imports nothing
until a name is asked for; a `TYPE_CHECKING` block repeats the imports for
type checkers, which do not run `__getattr__`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(package: str, sources: Mapping[str, Sequence[str]]) -> Callable[[str], object]:
    """The `__getattr__` of `package`: `sources` maps each submodule to the names it exports."""
    owner = {name: module for module, names in sources.items() for name in names}

    def __getattr__(name: str) -> object:
        module = owner.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    return __getattr__
