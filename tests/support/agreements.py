"""The issue's example agreement, as an operator would write it."""

import tomllib
from typing import Any

US_ROK_TECH = """
name = "us-rok-tech"
version = 1
parties = { countries = ["USA", "KOR"], organizations = [] }
categories = ["cyber-threat", "sensitive-technology", "supply-chain", "economic-coercion"]
max_classification = "S"
tlp_ceiling = "AMBER"
propin_match_only = true
aggregate_k = 3
retention_days = 730
"""


def us_rok_tech(**changes: Any) -> dict[str, Any]:
    """The example agreement as the service takes it, with ``changes``."""
    return {**tomllib.loads(US_ROK_TECH), **changes}
