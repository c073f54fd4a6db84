"""Node settings: one TOML file in the data directory, overridden by ``ALLYSHARE_*`` variables.

Settings are read and validated once, at the edge (CLI start-up), and passed down; nothing
below reads the environment. Every field can be set in the file or by the variable named in
``ENVIRONMENT``; a value that does not parse stops start-up with a message naming it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from allyshare.community.countries import country_problem
from allyshare.datadir import write_private_text
from allyshare.errors import ConfigError

CONFIG_FILE = "allyshare.toml"
DATABASE_FILE = "allyshare.db"
DEFAULT_DATA_DIR = "allyshare-data"
COUNTRY_CODE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    node_name: str = "allyshare"
    country: str = "USA"
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 6100
    max_body_bytes: int = 64 * 1024 * 1024
    default_page_size: int = 1000
    max_page_size: int = 10000
    log_level: str = "info"
    sync_interval: int = 30
    checkpoint_entries: int = 1000
    checkpoint_seconds: int = 60
    retention_interval: int = 3600
    common_after: int = 1000
    match_interval: int = 5
    ui_session_minutes: int = 480
    views_pattern_window_months: int = 12

    @property
    def effective_database_url(self) -> str:
        """The database to use: the configured URL, else SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / DATABASE_FILE}"


ENVIRONMENT: dict[str, str] = {
    "node_name": "ALLYSHARE_NODE_NAME",
    "country": "ALLYSHARE_COUNTRY",
    "database_url": "ALLYSHARE_DATABASE_URL",
    "host": "ALLYSHARE_HOST",
    "port": "ALLYSHARE_PORT",
    "max_body_bytes": "ALLYSHARE_MAX_BODY_BYTES",
    "default_page_size": "ALLYSHARE_DEFAULT_PAGE_SIZE",
    "max_page_size": "ALLYSHARE_MAX_PAGE_SIZE",
    "log_level": "ALLYSHARE_LOG_LEVEL",
    "sync_interval": "ALLYSHARE_SYNC_INTERVAL",
    "checkpoint_entries": "ALLYSHARE_CHECKPOINT_ENTRIES",
    "checkpoint_seconds": "ALLYSHARE_CHECKPOINT_SECONDS",
    "retention_interval": "ALLYSHARE_RETENTION_INTERVAL",
    "common_after": "ALLYSHARE_COMMON_AFTER",
    "match_interval": "ALLYSHARE_MATCH_INTERVAL",
    "ui_session_minutes": "ALLYSHARE_UI_SESSION_MINUTES",
    "views_pattern_window_months": "ALLYSHARE_VIEWS_PATTERN_WINDOW_MONTHS",
}

_TOML_SECTIONS: dict[str, tuple[str, str]] = {
    "node_name": ("node", "name"),
    "country": ("node", "country"),
    "database_url": ("database", "url"),
    "host": ("server", "host"),
    "port": ("server", "port"),
    "max_body_bytes": ("server", "max_body_bytes"),
    "default_page_size": ("server", "default_page_size"),
    "max_page_size": ("server", "max_page_size"),
    "log_level": ("server", "log_level"),
    "sync_interval": ("federation", "sync_interval"),
    "checkpoint_entries": ("audit", "checkpoint_entries"),
    "checkpoint_seconds": ("audit", "checkpoint_seconds"),
    "retention_interval": ("retention", "interval_seconds"),
    "common_after": ("correlation", "common_after"),
    "match_interval": ("matching", "min_interval_seconds"),
    "ui_session_minutes": ("ui", "session_minutes"),
    "views_pattern_window_months": ("views", "pattern_window_months"),
}
_LOG_LEVELS = {"debug", "info", "warning", "error"}


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("ALLYSHARE_DATA_DIR", DEFAULT_DATA_DIR))


def load_settings(data_dir: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``data_dir/allyshare.toml`` (if present) and the environment, then validate."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = data_dir / CONFIG_FILE
    if path.exists():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        for name, (section, key) in _TOML_SECTIONS.items():
            table = document.get(section, {})
            if isinstance(table, dict) and key in table:
                raw[name] = table[key]
    for name, variable in ENVIRONMENT.items():
        if variable in env:
            raw[name] = env[variable]
    return _validated(Settings(data_dir=data_dir), raw)


def validate(settings: Settings) -> Settings:
    """Check settings built in code by the same rules as ones read from a file."""
    return _validated(settings, {})


def _validated(base: Settings, raw: dict[str, Any]) -> Settings:
    types = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        source = f"{ENVIRONMENT[name]} / [{'.'.join(_TOML_SECTIONS[name])}]"
        if types[name] == "int":
            try:
                values[name] = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{source}: expected a whole number, got {value!r}") from None
            if values[name] <= 0:
                raise ConfigError(f"{source}: must be positive, got {value!r}")
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{source}: expected a string, got {value!r}")
            values[name] = value
    settings = replace(base, **values)
    problem = country_problem(settings.country, "[node] country / ALLYSHARE_COUNTRY")
    if problem is not None:
        raise ConfigError(problem)
    if settings.default_page_size > settings.max_page_size:
        raise ConfigError("default_page_size must not exceed max_page_size")
    if settings.port > 65535:
        raise ConfigError(f"port must be at most 65535, got {settings.port}")
    if settings.log_level not in _LOG_LEVELS:
        raise ConfigError(
            f"log_level must be one of {sorted(_LOG_LEVELS)}, got {settings.log_level!r}"
        )
    url = settings.database_url
    if url and not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError("database url must be sqlite:///PATH or postgresql+psycopg://...")
    return settings


def write_settings_file(settings: Settings) -> Path:
    """Write the settings that differ from code defaults as the node's TOML file."""
    lines = [
        "# allyshare node settings; ALLYSHARE_* environment variables override these.",
        "[node]",
        f'name = "{_toml_escape(settings.node_name)}"',
        f'country = "{settings.country}"',
        "",
        "[server]",
        f'host = "{settings.host}"',
        f"port = {settings.port}",
        f"max_body_bytes = {settings.max_body_bytes}",
        f"default_page_size = {settings.default_page_size}",
        f"max_page_size = {settings.max_page_size}",
        "",
        "[database]",
        "# empty: SQLite in the data directory; PostgreSQL: postgresql+psycopg://user@host/db",
        f'url = "{_toml_escape(settings.database_url)}"',
        "",
        "[federation]",
        f"sync_interval = {settings.sync_interval}",
        "",
        "[audit]",
        "# the node signs a checkpoint of its audit log after this many entries or seconds",
        f"checkpoint_entries = {settings.checkpoint_entries}",
        f"checkpoint_seconds = {settings.checkpoint_seconds}",
        "",
        "[retention]",
        "# how often the node removes what its agreements' retention_days no longer keep",
        f"interval_seconds = {settings.retention_interval}",
        "",
        "[correlation]",
        "# a value in more objects than this is reported as common, with its count, not listed",
        f"common_after = {settings.common_after}",
        "",
        "[matching]",
        "# seconds between one organization's private matching requests to one collection",
        f"min_interval_seconds = {settings.match_interval}",
        "",
        "[ui]",
        "# a web UI session ends this many minutes after sign-in (or at sign-out, or when",
        "# its user is disabled)",
        f"session_minutes = {settings.ui_session_minutes}",
        "",
        "[views]",
        "# the pattern alert: one state's same measure against two or more parties within",
        "# this many months",
        f"pattern_window_months = {settings.views_pattern_window_months}",
        "",
    ]
    path = settings.data_dir / CONFIG_FILE
    write_private_text(path, "\n".join(lines))
    return path


def _toml_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
