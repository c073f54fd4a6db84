"""The node's operations: the one path to storage for TAXII, the management API, federation,
the CLI and the Python API (`Node`)."""

from allyshare.service.attestation import ATTESTED_ORIGINATORS, Attested, received_originators
from allyshare.service.audit import Verification
from allyshare.service.explain import Explanation
from allyshare.service.gate import CollectionAccess
from allyshare.service.members import CONSOLE, DEFAULT_ROLES, ROLES, hash_token, new_token
from allyshare.service.node import Node
from allyshare.service.objects import Received
from allyshare.service.retention import SCHEDULE, Expired
from allyshare.service.writes import WITHDRAWN, Prepared, ReuseByView, WriteRules, prepare

__all__ = [
    "ATTESTED_ORIGINATORS",
    "CONSOLE",
    "DEFAULT_ROLES",
    "ROLES",
    "SCHEDULE",
    "WITHDRAWN",
    "Attested",
    "CollectionAccess",
    "Expired",
    "Explanation",
    "Node",
    "Prepared",
    "Received",
    "ReuseByView",
    "Verification",
    "WriteRules",
    "hash_token",
    "new_token",
    "prepare",
    "received_originators",
]
