"""Status notifications in the web widget (issue 14), in real headless Chromium against the
running assistant: opt in after a lookup, then the change appears without a reload, once, and
when the widget is opened again later; another conversation sees nothing of it."""

from __future__ import annotations

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="browser tests need the playwright package: pip install -e '.[dev]'")
expect = sync_api.expect

from tests.browser.test_widget import ask, open_widget  # noqa: E402

pytestmark = pytest.mark.browser

UPDATE = "Update on declaration 2026 KAS C 5120"


def tell(app_db_url: str, monkeypatch: pytest.MonkeyPatch, status: str, event_id: str) -> int:
    """What the webhook or the poller does when the customs system reports a change."""
    from bot import appdb
    from bot.appdb import notifications as store
    from bot.notify.outbox import Notifier
    from bot.notify.web import WebSender

    monkeypatch.setenv("CUSTOMS_DB_URL", app_db_url)
    appdb.dispose_engines()
    recorded = store.record_change("2026 KAS C 5120", status, None, "webhook", event_id)
    Notifier([WebSender()]).deliver(recorded.notifications)
    appdb.dispose_engines()
    return len(recorded.notifications)


def test_a_status_change_shows_in_the_open_widget_without_reload(bot_server, new_page,
                                                                 monkeypatch) -> None:
    page = new_page()
    open_widget(page, bot_server.web_url)
    ask(page, "where is my declaration")
    ask(page, "2026 KAS C 5120")
    answers = ask(page, "3004005006")
    assert any("registered" in a for a in answers)
    offer = page.locator(".zax-msg-bot").last.locator("button.zax-chip")
    expect(offer.first).to_have_text("Notify me of changes")
    before = page.locator(".zax-msg-bot").count()
    offer.first.click()
    expect(page.locator(".zax-msg-bot").nth(before)).to_contain_text("I'll tell you here")
    page.evaluate("window.__marker = 'no reload'")

    assert tell(bot_server.app_db_url, monkeypatch, "assessed", "evt-web-1") == 1

    note = page.locator(".zax-msg-bot .zax-bubble", has_text=f"{UPDATE}: assessed")
    expect(note).to_have_count(1, timeout=30_000)  # the widget asks every 20 s
    expect(note).to_contain_text("assessed, awaiting payment")
    expect(note).to_contain_text("stop notifications")
    assert page.evaluate("window.__marker") == "no reload"

    # Another browser (another conversation) never sees it.
    other = new_page()
    open_widget(other, bot_server.web_url)
    ask(other, "hello")
    other.wait_for_timeout(2500)
    expect(other.locator(".zax-msg-bot .zax-bubble", has_text=UPDATE)).to_have_count(0)

    # The next change arrives while the page is away: shown when it is opened again.
    url = page.url
    page.goto("about:blank")
    assert tell(bot_server.app_db_url, monkeypatch, "paid", "evt-web-2") == 1
    page.goto(url)
    expect(page.locator(".zax-msg-bot .zax-bubble", has_text=f"{UPDATE}: paid")).to_have_count(
        1, timeout=10_000)
    expect(note).to_have_count(1)  # the earlier one restored from the browser, not shown again
    assert not page.watch.errors and not other.watch.errors
