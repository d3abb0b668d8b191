"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Chromium comes from the system (`apt-get install chromium`); Playwright's own browser download
is not used. Without Chromium the tests skip with a reason, unless `PLIXO_REQUIRE_BROWSER=1`
(set by `.ci/run`), where a missing browser is a failure.

Screenshots of every page a test visits are saved to `artifacts/screenshots/` for review.
"""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("PLIXO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _browser_missing(reason: str):
    if os.environ.get("PLIXO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (PLIXO_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


@contextmanager
def _orm_beside_playwright():
    """Playwright's sync API keeps an asyncio loop running on the main thread, which makes
    Django refuse database access from test code ("SynchronousOnlyOperation") although nothing
    here is async. Allowed only while the browser runs: set for the whole process, it would also
    reach subprocesses such as `check --deploy`, which rightly rejects it."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Module scope: the loop Playwright leaves running must be gone before other test modules run
# in the same process.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _browser_missing(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("the playwright package is not installed")
    with _orm_beside_playwright(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _page(browser, viewport, **extra):
    context = browser.new_context(viewport=viewport, locale="en-US", **extra)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    page.js_errors = errors
    return context, page


@pytest.fixture
def desktop(browser):
    context, page = _page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context, page = _page(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    yield page
    context.close()
