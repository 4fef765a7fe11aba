"""The run viewer end to end: the real local server (`python -m local`) and Debian's
Chromium, headless, driven by Playwright (never `playwright install`: `make test` installs
the `chromium` package when /usr/bin/chromium is missing)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, expect, sync_playwright

from tests.local_server import Server, running

CHROMIUM = "/usr/bin/chromium"
# No GPU, no network of Chromium's own (updates, sync, QUIC), no sandbox (root in CI).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.xdist_group("browser")
# Runs take real time (a node sleeps 2.5 s) on a machine shared with the rest of the suite.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running() as started:
        yield started


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@dataclass
class Viewer:
    """A fresh browser context (no stored key) and what its page asked the network for."""

    page: Page
    requests: list[Request] = field(default_factory=list)
    # Uncaught script errors (a refused request's console line is not one).
    page_errors: list[str] = field(default_factory=list)

    def urls(self) -> list[str]:
        return [request.url for request in self.requests]


@pytest.fixture
def viewer(browser: Browser) -> Iterator[Viewer]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    seen = Viewer(page)
    # A lambda: Playwright cannot wrap a builtin method (list.append) as a handler.
    page.on("request", lambda request: seen.requests.append(request))  # noqa: PLW0108
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    # Every status a node takes, in order, as the page sets it (so a test sees a change
    # however quickly it happened).
    page.add_init_script(
        """
        window.__statuses = {};
        const note = (id, status) => {
          const seen = (window.__statuses[id] ||= []);
          if (status !== null && seen[seen.length - 1] !== status) seen.push(status);
        };
        new MutationObserver((records) => {
          // Changes made in one task arrive together: each record's old value is the
          // status before it, the element's value now the last one.
          const touched = new Set();
          for (const record of records) {
            const id = record.target.getAttribute("data-node");
            if (!id) continue;
            note(id, record.oldValue);
            touched.add(record.target);
          }
          for (const node of touched) {
            note(node.getAttribute("data-node"), node.getAttribute("data-status"));
          }
        }).observe(document, {
          subtree: true, attributes: true, attributeOldValue: true,
          attributeFilter: ["data-status"],
        });
        """
    )
    page.set_default_timeout(20_000)
    yield seen
    context.close()
