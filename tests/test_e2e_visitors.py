"""Several visitors on one server in a real browser, through the job service: waits told that hold, fair
turns, Stop while in line, a visitor who leaves, the toolbar's Stop.

Mandatory in CI (NST_REQUIRE_BROWSER=1); elsewhere it skips, saying why, when no browser is installed.
"""

from __future__ import annotations

import time

import pytest

from tests.browser import (
    ARTIFACTS,
    SHARE,
    assert_waits_held,
    behind_a_long_run,
    chromium,
    follow_the_wait,
    long_run,
    open_page,
    set_steps,
    start_a_long_example_run,
    wait_until_idle,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_toolbars_stop_keeps_the_picture_and_clears_the_progress_on_the_next_click(app_url):
    from playwright.sync_api import expect

    with open_page(app_url, upload=False) as page:
        start_a_long_example_run(page)
        page.locator("[data-testid='stToolbar']").get_by_role("button", name="Stop").click()
        page.wait_for_timeout(1000)
        # Streamlit runs the page again only on the visitor's next action: any one, here another photo.
        page.get_by_role("radio", name="Chelsea").click()
        try:
            page.get_by_text("stopped at step").first.wait_for(timeout=30_000)
            page.get_by_role("button", name="Download PNG").wait_for(timeout=30_000)
            wait_until_idle(page)  # what the interrupted run drew stays on the page until the rerun ends
            expect(page.locator("[data-testid='stProgress']")).to_have_count(0, timeout=10_000)
            expect(page.get_by_role("button", name="Stop and keep this")).to_have_count(0, timeout=10_000)
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "e2e-toolbar-stop.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0


def test_a_visitor_who_presses_stop_while_in_line_leaves_it_and_is_told(app_url):
    with chromium() as browser:
        first, second = behind_a_long_run(browser, app_url)
        second.get_by_text("You are number 1 in line").wait_for(timeout=30_000)
        second.get_by_role("button", name="Stop and keep this").click()
        second.get_by_text("You left the line").wait_for(timeout=30_000)
        assert second.locator("[data-testid='stException']").count() == 0
        first.get_by_role("button", name="Stop and keep this").click()


def test_the_line_said_before_the_button_follows_the_line_without_a_click(app_url):
    """Drawn once, "Now: 1 ahead of you" stayed on a visitor's page after the line had emptied, until the visitor
    clicked something (a walk in chromium, 2026-12-02); it is said anew while anyone is in line."""
    from playwright.sync_api import expect

    with chromium() as browser:
        painting, looking = browser.new_context().new_page(), browser.new_context().new_page()
        painting.goto(app_url)
        painting.get_by_role("button", name="Paint it").wait_for(timeout=60_000)
        long_run(painting)
        painting.get_by_text("s left").first.wait_for(timeout=60_000)
        looking.goto(app_url)
        looking.get_by_text("Now: 1 ahead of you").wait_for(timeout=60_000)
        painting.get_by_role("button", name="Stop and keep this").click()
        painting.get_by_text("#1 · ").first.wait_for(timeout=60_000)
        expect(looking.get_by_text("ahead of you")).to_have_count(0, timeout=15_000)  # no click on this page
        for page in (painting, looking):
            assert page.locator("[data-testid='stException']").count() == 0


def test_a_visitor_who_leaves_frees_the_device_for_the_next(app_url):
    with chromium() as browser:
        leaving = browser.new_context().new_page()
        leaving.goto(app_url)
        leaving.get_by_role("button", name="Paint it").wait_for(timeout=60_000)
        set_steps(leaving, 300)
        leaving.get_by_text("Advanced").first.click()
        leaving.get_by_text("Stop when converged").click()  # so that it would really run 300 steps
        leaving.get_by_role("button", name="Paint it").click()
        leaving.get_by_text("s left").first.wait_for(timeout=60_000)
        leaving.context.close()  # the visitor closes the tab mid-run
        staying = browser.new_context().new_page()
        staying.goto(app_url)
        staying.get_by_role("button", name="Paint it").wait_for(timeout=60_000)
        set_steps(staying, 3)
        started = time.monotonic()
        staying.get_by_role("button", name="Paint it").click()
        staying.get_by_text("#1 · ").first.wait_for(timeout=60_000)
        # 300 steps would take far longer than this: the departed run gave up its slot.
        assert time.monotonic() - started < 20


def test_two_visitors_behind_a_long_run_are_told_waits_that_hold(app_url):
    """The run ahead is cut at its fair turn: the wait told is that turn, not the whole run (35x too long)."""
    with chromium() as browser:
        first, second = behind_a_long_run(browser, app_url)
        figures, started = follow_the_wait(second)
        assert_waits_held(figures, started)
        # The visitor whose run was cut was told so while it ran, and the result says why it ended.
        first.get_by_text(f"ended after {SHARE} s: others were waiting").first.wait_for(timeout=30_000)
        second.get_by_text("#1 · ").first.wait_for(timeout=60_000)
        for page in (first, second):
            assert page.locator("[data-testid='stException']").count() == 0


def test_a_visitor_behind_a_comparison_is_told_a_wait_that_holds(app_url):
    """The comparison yields after its turn (it used to hold the device for all its runs, unplanned)."""
    with chromium() as browser:
        presenter, visitor = browser.new_context().new_page(), browser.new_context().new_page()
        visitor.goto(app_url)  # drawn before the comparison starts, as behind_a_long_run does, for the same reason
        visitor.get_by_role("button", name="Paint it").wait_for(timeout=60_000)
        wait_until_idle(visitor)
        presenter.goto(f"{app_url}/compare")
        presenter.get_by_text("3 · Everything else").wait_for(timeout=60_000)
        set_steps(presenter, 300)
        presenter.get_by_text("Advanced").first.click()
        presenter.get_by_text("Stop when converged").click()
        presenter.get_by_role("button", name="Compare").click()
        presenter.get_by_text("left for the comparison").first.wait_for(timeout=60_000)
        visitor.get_by_role("button", name="Paint it").click()
        figures, started = follow_the_wait(visitor)
        assert_waits_held(figures, started)
        visitor.get_by_text("#1 · ").first.wait_for(timeout=60_000)
        # The comparison carries on after the visitor's picture: stopped here, or done meanwhile on a fast host.
        stop = presenter.get_by_role("button", name="Stop and keep the runs so far")
        sheet = presenter.get_by_text("Comparison", exact=True)
        stop.or_(sheet).first.wait_for(timeout=60_000)
        if stop.count():
            stop.click()
        sheet.wait_for(timeout=60_000)
        for page in (presenter, visitor):
            assert page.locator("[data-testid='stException']").count() == 0
