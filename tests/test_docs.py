"""Every setting the code reads is documented in the README (as Datasette checks its settings)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_environment_variable_is_documented():
    used = set()
    for package in ("server", "media"):
        for path in (ROOT / package).rglob("*.py"):
            used |= set(re.findall(r"\bSIDANG_[A-Z_]+\b", path.read_text()))
    readme = (ROOT / "README.md").read_text()
    assert used, "the scan found no settings at all"
    assert sorted(v for v in used if f"`{v}`" not in readme) == []
