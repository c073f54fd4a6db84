"""The management API at ``/api/v1/`` (DESIGN section 8), a caller of the node like TAXII."""

from allyshare.manage.app import create_management_app, problem_response

__all__ = ["create_management_app", "problem_response"]
