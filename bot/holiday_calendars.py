"""The `holidays` package's country calendars, loaded one country at a time.

The package finds a country's calendar lazily (``holidays.country_holidays``
imports ``holidays.countries.japan`` when asked for JP), but importing any
module of ``holidays.countries`` first runs that package's ``__init__``,
which imports all of its some 250 countries so that ``from
holidays.countries import Japan`` works. A process then holds every
country's code for good (about 8 MiB) to answer for the one or two its
subscriptions name.

``load_countries_lazily`` registers ``holidays.countries`` before anything
imports it: the same package folder, its names (``Japan``, ``JP``, ``JPN``)
resolved on first use through the package's own registry. Importing a
country then loads that country's module and the few it builds on; every way
of asking the package for a calendar works as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading

import holidays
from holidays.registry import COUNTRIES

PACKAGE = "holidays.countries"

_lock = threading.Lock()
# Each name the package's __init__ would define (a class or its code aliases), and the module defining it.
_MODULE_OF = {name: module for module, names in COUNTRIES.items() for name in names}


def load_countries_lazily() -> None:
    """Make ``holidays.countries`` load only the countries asked for; a no-op
    once it is imported, whichever way."""
    if PACKAGE in sys.modules:
        return
    with _lock:
        if PACKAGE in sys.modules:
            return
        # The package as the import system would make it, without running its __init__.
        package = importlib.util.module_from_spec(importlib.util.find_spec(PACKAGE))
        package.__getattr__ = _country_attribute
        sys.modules[PACKAGE] = package
        holidays.countries = package


def _country_attribute(name: str):
    """``holidays.countries.Japan`` (or ``JP``), imported on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{PACKAGE}.{module}"), name)
