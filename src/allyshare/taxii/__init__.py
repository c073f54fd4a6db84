"""The TAXII 2.1 HTTP binding: routes, media types, pagination, authentication, errors."""

from allyshare.taxii.app import create_app

__all__ = ["create_app"]
