"""The console end to end in a real headless Chromium (Playwright, the system ``chromium``) against a real platform:
log in, see rendered charts, open an account 360, acknowledge a complaint without a reload, switch language, the
account manager's not-found page, the viewer's read-only screens — and no request to any other host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.console.conftest import CHROMIUM_ARGS, PASSWORD, ConsolePlatform, ensure_chromium

# The first test's set-up may install the system chromium package (apt) before the platform starts: more than the
# suite's default 300 s per test on a slow mirror.
pytestmark = pytest.mark.timeout(900)
REQUESTS: list[str] = []  # every URL any page of the walk requested


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """The system Chromium; ``launch`` gives it a fresh temporary profile of its own, removed on close."""
    chromium = playwright.chromium.launch(executable_path=str(ensure_chromium()), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def new_context(browser: Browser) -> BrowserContext:
    """A context that prefers Chinese (the console's default) and records every request."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    context.on("request", lambda request: REQUESTS.append(request.url))
    context.set_default_timeout(20_000)
    return context


def log_in(page: Page, base: str, user: str) -> None:
    page.goto(f"{base}/console/")
    expect(page).to_have_url(f"{base}/console/login?next=/console/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/console/")


def charts_drawn(page: Page, minimum: int) -> int:
    """How many charts have a non-empty SVG (at least ``minimum`` awaited)."""
    page.wait_for_function(
        "n => [...document.querySelectorAll('.chart svg')].filter(s => s.querySelectorAll('path, text').length > 0)"
        ".length >= n",
        arg=minimum,
    )
    count: int = page.evaluate(
        "() => [...document.querySelectorAll('.chart svg')].filter(s => s.querySelectorAll('path').length > 0).length"
    )
    return count


def test_supervisor_walk(browser: Browser, console_platform: ConsolePlatform, artifacts: Path) -> None:
    base, li, complaint_id = console_platform.base, console_platform.accounts["li"], console_platform.complaints["li"]
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, "sup-wang")
    expect(page.locator("h1")).to_contain_text("客户组合总览")
    assert charts_drawn(page, 4) >= 4  # tiers, SLA board, heat map, attainment
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["kam_console_access"]["httpOnly"] and cookies["kam_console_access"]["sameSite"] == "Strict"
    page.screenshot(path=str(artifacts / "01-dashboard-zh.png"), full_page=True)

    page.goto(f"{base}/console/accounts/{li}")
    expect(page.locator("h1.account-name")).to_contain_text("华东精密制造有限公司")
    row = page.locator(f"#complaint-{complaint_id}")
    expect(row).to_have_attribute("data-state", "new")
    expect(row.locator("[data-field=state]")).to_have_text("新建")
    assert charts_drawn(page, 2) >= 2  # at least the aging chart and the targets' forecast or the radar
    page.screenshot(path=str(artifacts / "02-account-360.png"), full_page=True)

    page.evaluate("window.__notReloaded = true")
    row.locator("summary[data-action=acknowledge]").click()
    row.locator("button[data-submit=acknowledge]").click()
    row = page.locator(f"#complaint-{complaint_id}")
    expect(row).to_have_attribute("data-state", "acknowledged")
    expect(row.locator("[data-field=state]")).to_have_text("已受理")
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "03-complaint-acknowledged.png"), full_page=False)

    page.click("#lang-toggle")
    expect(page.locator("header nav")).to_contain_text("Dashboard")
    expect(page.locator(f"#complaint-{complaint_id} [data-field=state]")).to_have_text("Acknowledged")
    page.goto(f"{base}/console/")
    expect(page.locator("h1")).to_contain_text("Portfolio dashboard")
    charts_drawn(page, 4)
    page.screenshot(path=str(artifacts / "04-dashboard-en.png"), full_page=True)
    context.close()


def test_account_manager_gets_not_found_for_another_managers_account(
    browser: Browser, console_platform: ConsolePlatform, artifacts: Path
) -> None:
    base = console_platform.base
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, "am-li")
    expect(page.locator("h1")).to_contain_text("我的客户")
    response = page.goto(f"{base}/console/accounts/{console_platform.accounts['zhang']}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_contain_text("未找到")
    page.screenshot(path=str(artifacts / "05-account-manager-not-found.png"))
    own = page.goto(f"{base}/console/accounts/{console_platform.accounts['li']}")
    assert own is not None and own.status == 200
    context.close()


def test_viewer_sees_no_action_buttons(browser: Browser, console_platform: ConsolePlatform, artifacts: Path) -> None:
    base, complaint_id = console_platform.base, console_platform.complaints["li"]
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, "viewer-zhao")
    page.goto(f"{base}/console/accounts/{console_platform.accounts['li']}")
    expect(page.locator(f"#complaint-{complaint_id}")).to_be_visible()
    for queue in ("", "/complaints", "/risk", "/limits", "/actions"):
        page.goto(f"{base}/console{queue}")
        assert page.locator("[data-action], [data-submit], [hx-post]").count() == 0, queue
    page.goto(f"{base}/console/complaints")
    expect(page.locator(f"#complaint-{complaint_id}")).to_be_visible()
    page.screenshot(path=str(artifacts / "06-viewer-read-only.png"), full_page=True)
    context.close()


def test_no_request_went_to_another_host(console_platform: ConsolePlatform) -> None:
    """Runs after the walks above (file order): every page, script, style and XHR came from the gateway."""
    assert len(REQUESTS) > 20, "the walk made too few requests to judge"
    foreign = [url for url in REQUESTS if urlsplit(url).netloc != console_platform.host]
    assert not foreign, foreign
