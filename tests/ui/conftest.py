"""The browser and the running demo every browser test of the UI shares: one of each per
test process, since starting the two federated nodes takes most of a minute."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from support.browsing import CHROMIUM, QUIET, Demo, running_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
        with running_demo(tmp_path_factory.mktemp("ui-demo")) as running:
            yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
        yield launched
        launched.close()
