"""The policy package: an honest __all__, and purity (only stdlib, allyshare.stix, errors)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import allyshare.policy as policy

PACKAGE = Path(policy.__file__).parent
ALLOWED_PREFIXES = ("allyshare.policy", "allyshare.stix", "allyshare.errors")


def test_all_names_exist_and_nothing_public_is_unlisted() -> None:
    for name in policy.__all__:
        assert hasattr(policy, name), name
    public = {
        name
        for name, value in vars(policy).items()
        if not name.startswith("_") and not isinstance(value, type(policy))
    }
    assert public <= set(policy.__all__)


def test_policy_imports_only_the_standard_library_stix_and_errors() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                allowed = (
                    name.startswith(ALLOWED_PREFIXES)
                    or (top != "allyshare" and top in sys.stdlib_module_names)
                    or top == "__future__"
                )
                assert allowed, f"{path.name} imports {name}"
