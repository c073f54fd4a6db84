"""The README documents every setting and every command, so the docs cannot drift."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from allyshare.cli.main import build_parser
from allyshare.config import ENVIRONMENT, Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for field in fields(Settings):
        if field.name == "data_dir":
            assert "ALLYSHARE_DATA_DIR" in README
            continue
        assert ENVIRONMENT[field.name] in README, field.name


def commands(parser: argparse.ArgumentParser, prefix: str = "allyshare") -> list[str]:
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = commands(sub, f"{prefix} {name}")
                found.extend(nested or [f"{prefix} {name}"])
    return found


def test_every_command_is_documented() -> None:
    names = commands(build_parser())
    assert "allyshare collection add" in names
    for name in names:
        assert name in README, name
