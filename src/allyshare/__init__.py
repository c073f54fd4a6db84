"""allyshare: trusted STIX 2.1 / TAXII 2.1 sharing between allied nations, agencies and companies.

The library API is the same one the CLI and the TAXII server use::

    from allyshare import Node, load_settings
    node = Node.open(load_settings(Path("node")))
"""

from allyshare.config import Settings, load_settings
from allyshare.errors import (
    AllyshareError,
    AuthenticationFailed,
    ConfigError,
    Conflict,
    InvalidInput,
    InvalidObject,
    NotFound,
    PermissionDenied,
)
from allyshare.service import Node
from allyshare.storage import VersionFilter

__version__ = "0.1.0"

__all__ = [
    "AllyshareError",
    "AuthenticationFailed",
    "ConfigError",
    "Conflict",
    "InvalidInput",
    "InvalidObject",
    "Node",
    "NotFound",
    "PermissionDenied",
    "Settings",
    "VersionFilter",
    "__version__",
    "load_settings",
]
