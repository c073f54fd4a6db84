"""Exchanging data with other nodes and TAXII servers: peers, pinned connections, sync."""
