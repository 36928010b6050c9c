"""Loading the holidays package's country calendars one at a time (bot.holiday_calendars).

Each test runs a fresh interpreter: which modules a process loads is the
point, and this one may have loaded every calendar already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Countries whose modules build on others' (territories of GB, US, FR...) are among them.
SAMPLE = ("JP", "DE", "US", "GB", "PR", "GI", "NP", "SA")


def run(script: str) -> object:
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(result.stdout)


def holidays_of(lazily: bool) -> dict:
    setup = "from bot.holiday_calendars import load_countries_lazily; load_countries_lazily(); " if lazily else ""
    return run(setup + "import json, holidays; print(json.dumps({cc: sorted((d.isoformat(), n) for d, n in "
                       f"holidays.country_holidays(cc, years=(2026, 2027)).items()) for cc in {SAMPLE!r}}}))")


def test_a_country_loads_its_own_calendar_and_not_every_other():
    loaded = run("import json, sys, holidays; from bot.holiday_calendars import load_countries_lazily; "
                 "load_countries_lazily(); holidays.country_holidays('JP', years=2026); "
                 "print(json.dumps(sorted(m for m in sys.modules if m.startswith('holidays.countries.'))))")
    assert loaded == ["holidays.countries.japan"]


def test_calendars_loaded_lazily_are_the_same_as_loaded_all_at_once():
    assert holidays_of(lazily=True) == holidays_of(lazily=False)


def test_the_package_names_its_countries_as_before():
    found = run("import json, holidays; from bot.holiday_calendars import load_countries_lazily; "
                "load_countries_lazily(); from holidays.countries import Japan, JP, JPN; "
                "import holidays.countries as countries; "
                "print(json.dumps([countries.Japan is Japan and issubclass(JP, Japan) and issubclass(JPN, Japan), "
                "countries.DE.__mro__[1].__name__, "
                "len(holidays.list_supported_countries())]))")
    eager = run("import json, holidays; print(json.dumps(len(holidays.list_supported_countries())))")
    assert found == [True, "Germany", eager]


def test_an_unknown_name_is_no_attribute():
    answer = run("import json; from bot.holiday_calendars import load_countries_lazily; load_countries_lazily(); "
                 "import holidays.countries as countries; print(json.dumps(hasattr(countries, 'Atlantis')))")
    assert answer is False


def test_once_the_package_is_loaded_whole_it_is_left_alone():
    answer = run("import json, sys, holidays.countries as real; from bot.holiday_calendars import "
                 "load_countries_lazily; load_countries_lazily(); print(json.dumps(sys.modules['holidays.countries'] "
                 "is real and len([m for m in sys.modules if m.startswith('holidays.countries.')]) > 200))")
    assert answer is True
