"""The analyst's web UI: pages the node renders from its service façade (`ui.app`), and what
their banners and marking chips say (`ui.banner`)."""

from allyshare.ui.app import UI_PATH, create_ui_app

__all__ = ["UI_PATH", "create_ui_app"]
