"""STIX in and out of a node as files: the import pipelines (STIX files, spreadsheets of
economic data) and bundle export, shared by the CLI, the management API and the web UI."""

from allyshare.interchange.bundles import write_bundle
from allyshare.interchange.imports import IMPORT_BATCH, ImportSummary, import_into
from allyshare.interchange.spreadsheets import SpreadsheetImport, import_csv

__all__ = [
    "IMPORT_BATCH",
    "ImportSummary",
    "SpreadsheetImport",
    "import_csv",
    "import_into",
    "write_bundle",
]
