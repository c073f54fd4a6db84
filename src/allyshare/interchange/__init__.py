"""STIX in and out of a node as files: the import pipeline and bundle export, shared by the
CLI, the management API and the web UI."""

from allyshare.interchange.bundles import write_bundle
from allyshare.interchange.imports import IMPORT_BATCH, ImportSummary, import_into

__all__ = ["IMPORT_BATCH", "ImportSummary", "import_into", "write_bundle"]
