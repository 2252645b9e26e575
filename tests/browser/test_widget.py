"""The chat widget in real headless Chromium.

Tests taking ``bot_server`` talk to the running assistant (trained model, action server, demo
page served by bot/ops/webserver.py). Tests taking ``fake_rasa`` check widget mechanics that the
real bot cannot be asked for on demand (5xx answers, slow answers, unsafe links).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="browser tests need the playwright package: pip install -e '.[dev]'")
expect = sync_api.expect

from tests.browser.conftest import PHONE  # noqa: E402

pytestmark = pytest.mark.browser

BOT_TIMEOUT = 60_000  # ms; the first answers of a freshly started Rasa can be slow
INJECTION = "<img src=x onerror=alert(1)>"


def open_widget(page: object, url: str) -> None:
    page.goto(url)
    page.locator(".zax-launcher").click()
    expect(page.locator(".zax-panel")).to_be_visible()
    expect(page.locator(".zax-input")).to_be_focused()


def wait_for_answer(page: object, bots_before: int, timeout: int = BOT_TIMEOUT) -> list[str]:
    """Wait for at least one new bot message; return the texts of all new ones."""
    bots = page.locator(".zax-msg-bot .zax-bubble")
    expect(bots.nth(bots_before)).to_be_visible(timeout=timeout)
    expect(page.locator(".zax-typing")).to_be_hidden(timeout=timeout)
    return bots.all_inner_texts()[bots_before:]


def ask(page: object, text: str, timeout: int = BOT_TIMEOUT) -> list[str]:
    """Type a message, press Enter, and return the bot's new messages."""
    before = page.locator(".zax-msg-bot").count()
    page.locator(".zax-input").fill(text)
    page.locator(".zax-input").press("Enter")
    expect(page.locator(".zax-msg-user .zax-bubble").last).to_have_text(text)
    return wait_for_answer(page, before, timeout)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --------------------------------------------------------------- against the real bot


def test_answers_a_knowledge_question(bot_server, page) -> None:
    open_widget(page, bot_server.web_url)
    answers = ask(page, "what is a tpin")
    assert any("TPIN" in answer for answer in answers), answers
    assert not page.watch.errors


def test_quick_reply_sends_payload_and_shows_title(bot_server, page) -> None:
    open_widget(page, bot_server.web_url)
    ask(page, "what can you do")
    offered = page.locator(".zax-msg-bot").last.locator("button.zax-chip")
    expect(offered.first).to_be_visible()
    title = offered.first.inner_text()
    bots_before = page.locator(".zax-msg-bot").count()

    offered.first.click()

    expect(page.locator(".zax-msg-user .zax-bubble").last).to_have_text(title)
    answers = wait_for_answer(page, bots_before)
    assert answers and all(a.strip() for a in answers)
    # The answered suggestions are gone, and focus is back in the input for the next question.
    expect(page.locator(".zax-msg-bot").nth(bots_before - 1).locator(".zax-chip")).to_have_count(0)
    expect(page.locator(".zax-input")).to_be_focused()


def test_conversation_survives_reload(bot_server, page) -> None:
    open_widget(page, bot_server.web_url)
    ask(page, "what is a tpin")
    sender = page.evaluate("window.ZaxWidget.senderId")
    before = page.locator(".zax-msg .zax-bubble").all_inner_texts()

    page.reload()

    expect(page.locator(".zax-panel")).to_be_visible()
    expect(page.locator(".zax-msg .zax-bubble")).to_have_count(len(before))
    assert page.locator(".zax-msg .zax-bubble").all_inner_texts() == before
    assert page.evaluate("window.ZaxWidget.senderId") == sender
    assert ask(page, "hello")  # the restored conversation goes on


def test_unreachable_server_then_recovery(bot_server, new_page, serve_web, tcp_proxy) -> None:
    proxy = tcp_proxy(bot_server.rasa_url)
    page_url = serve_web(proxy.url)
    proxy.rewrite_origin(origin(page_url), origin(bot_server.web_url))
    page = new_page()
    posts: list[dict] = []
    page.on("request", lambda r: posts.append(r.post_data_json)
            if r.method == "POST" and r.url.endswith("/webhook") else None)
    open_widget(page, page_url)
    assert ask(page, "hello")

    proxy.stop()
    page.locator(".zax-input").fill("what is a tpin")
    page.locator(".zax-input").press("Enter")
    alert = page.locator(".zax-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Cannot reach")
    failed = page.locator(".zax-msg-user.zax-failed")
    expect(failed).to_have_count(1)
    expect(failed.locator(".zax-bubble")).to_have_text("what is a tpin")

    proxy.start()
    bots_before = page.locator(".zax-msg-bot").count()
    failed.locator("button.zax-retry").click()
    answers = wait_for_answer(page, bots_before)
    assert any("TPIN" in a for a in answers), answers
    expect(page.locator(".zax-msg-user.zax-failed")).to_have_count(0)
    expect(page.locator(".zax-alert-error")).to_have_count(0)
    assert ask(page, "hello")  # and the next message goes through too
    assert not page.watch.errors
    # The retry carried the failed message's own id, so the bot answers it once even when the
    # first attempt did reach it; every other message has an id of its own.
    ids = {p["message"]: [] for p in posts}
    for p in posts:
        ids[p["message"]].append(p["message_id"])
    tpin = ids["what is a tpin"]
    assert len(tpin) == 2 and tpin[0] == tpin[1] and tpin[0].startswith("msg-")
    assert len(set(ids["hello"])) == 2


def test_html_in_messages_is_shown_as_text(bot_server, page) -> None:
    open_widget(page, bot_server.web_url)
    page.evaluate("window.__zaxInjected = 0")
    ask(page, INJECTION)
    ask(page, '<b onmouseover="window.__zaxInjected=1">bold?</b><script>alert(2)</script>')

    bubbles = page.locator(".zax-msg-user .zax-bubble")
    expect(bubbles.nth(0)).to_have_text(INJECTION)
    assert bubbles.nth(0).evaluate("el => el.children.length") == 0
    assert page.locator(".zax-log img, .zax-log script, .zax-log b").count() == 0
    page.locator(".zax-msg-user .zax-bubble").last.hover()
    time.sleep(0.3)
    assert page.evaluate("window.__zaxInjected") == 0
    assert page.watch.dialogs == []


def _focused_in_widget(page: object) -> str:
    return page.evaluate("""() => {
        const host = document.activeElement;
        if (!host || host.tagName !== 'ZAX-CHAT') return '';
        const inner = host.shadowRoot.activeElement;
        return inner ? inner.className : '';
    }""")


def test_keyboard_only(bot_server, page) -> None:
    page.goto(bot_server.web_url)
    for _ in range(40):  # Tab through the host page until the launcher has focus
        page.keyboard.press("Tab")
        if _focused_in_widget(page) == "zax-launcher":
            break
    assert _focused_in_widget(page) == "zax-launcher"
    launcher = page.locator(".zax-launcher")
    assert launcher.evaluate("el => getComputedStyle(el).outlineStyle") != "none"

    page.keyboard.press("Enter")
    expect(page.locator(".zax-panel")).to_be_visible()
    assert _focused_in_widget(page) == "zax-input"
    page.keyboard.type("what is a tpin")
    page.keyboard.press("Enter")
    answers = wait_for_answer(page, 1)
    assert any("TPIN" in a for a in answers), answers

    page.keyboard.press("Tab")
    assert _focused_in_widget(page) == "zax-send"
    page.keyboard.press("Escape")
    expect(page.locator(".zax-panel")).to_be_hidden()
    assert _focused_in_widget(page) == "zax-launcher"
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_new_bot_messages_are_announced(bot_server, page) -> None:
    open_widget(page, bot_server.web_url)
    log = page.locator(".zax-log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_attribute("role", "log")
    ask(page, "what is a tpin")
    assert log.locator(".zax-msg-bot").count() >= 2  # answers land inside the live region


def test_screenshots_desktop_and_phone(bot_server, new_page, artifacts) -> None:
    desktop = new_page()
    open_widget(desktop, bot_server.web_url)
    ask(desktop, "what can you do")
    desktop.screenshot(path=str(artifacts / "widget-desktop.png"))
    box = desktop.locator(".zax-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
    assert box["y"] >= 0 and box["y"] + box["height"] <= 800

    phone = new_page(PHONE, is_mobile=True, has_touch=True)
    open_widget(phone, bot_server.web_url)
    ask(phone, "what is a tpin")
    phone.screenshot(path=str(artifacts / "widget-phone.png"))
    for selector in (".zax-panel", ".zax-input", ".zax-send", ".zax-header"):
        box = phone.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (selector, box)
    panel = phone.locator(".zax-panel").bounding_box()
    assert panel["height"] <= PHONE["height"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert (artifacts / "widget-desktop.png").stat().st_size > 10_000
    assert (artifacts / "widget-phone.png").stat().st_size > 10_000


# ------------------------------------------------------ widget mechanics (fake REST bot)


def test_rich_text_is_built_safely(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    ask(page, "what is a tpin")
    bubble = page.locator(".zax-msg-bot .zax-bubble").last
    expect(bubble.locator("strong")).to_have_text("TPIN")
    expect(bubble.locator("ul > li")).to_have_count(2)
    links = bubble.locator("a")
    expect(links).to_have_count(2)
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    assert hrefs == ["https://www.zra.org.zm/", "https://example.org/guide"]
    for i in range(2):
        assert links.nth(i).get_attribute("target") == "_blank"
        assert set(links.nth(i).get_attribute("rel").split()) >= {"noopener", "noreferrer"}
    expect(bubble).to_contain_text("[this](javascript:alert(1))")
    expect(bubble).to_contain_text("data:text/html,<b>x</b>")


def test_server_error_then_next_message_works(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    page.locator(".zax-input").fill("boom")
    page.locator(".zax-input").press("Enter")
    expect(page.locator(".zax-alert")).to_contain_text("error 500")
    expect(page.locator(".zax-msg-user.zax-failed button.zax-retry")).to_be_visible()
    assert ask(page, "two") == ["First part.", "Second part."]
    expect(page.locator(".zax-alert-error")).to_have_count(0)


def test_refused_message_shows_the_servers_reason(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    page.locator(".zax-input").fill("too fast")
    page.locator(".zax-input").press("Enter")
    expect(page.locator(".zax-alert")).to_contain_text("sending messages too fast")


def test_typing_indicator_while_waiting(fake_rasa, serve_web, page) -> None:
    fake_rasa.delay = 1.5
    open_widget(page, serve_web(fake_rasa.url))
    page.locator(".zax-input").fill("hi there")
    page.locator(".zax-input").press("Enter")
    expect(page.locator(".zax-typing")).to_be_visible()
    expect(page.locator(".zax-msg-bot .zax-bubble").last).to_have_text("You said: hi there")
    expect(page.locator(".zax-typing")).to_be_hidden()


def test_message_length_is_limited(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    counter = page.locator(".zax-counter")
    page.locator(".zax-input").fill("x" * 10)
    expect(counter).to_have_text("10 / 1000")
    page.locator(".zax-input").fill("y" * 1200)
    assert len(page.locator(".zax-input").input_value()) == 1000
    expect(counter).to_contain_text("Limit reached")
    page.locator(".zax-input").press("Enter")
    expect(page.locator(".zax-msg-bot .zax-bubble").last).to_contain_text("You said: yyy")
    assert len(fake_rasa.received[-1]["message"]) == 1000


def test_bot_html_is_shown_as_text(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    answers = ask(page, INJECTION)
    assert answers == [f"You said: {INJECTION}"]
    assert page.locator(".zax-log img").count() == 0
    assert page.watch.dialogs == []


def test_embedding_changes_nothing_else_on_the_page(fake_rasa, serve_web, new_page) -> None:
    url = serve_web(fake_rasa.url)
    probe = """() => ({
        globals: Object.keys(window).sort(),
        head: document.head.children.length,
        body: [...document.body.children].map(e => e.tagName),
        h1: getComputedStyle(document.querySelector('h1')).cssText
            || ['font-family', 'color', 'font-size'].map(
                p => getComputedStyle(document.querySelector('h1')).getPropertyValue(p)).join(),
        outside: document.querySelectorAll('[class*="zax"]').length,
    })"""
    bare = new_page()
    bare.route("**/widget.js", lambda route: route.abort())
    bare.goto(url)
    without = bare.evaluate(probe)

    page = new_page()
    page.goto(url)
    expect(page.locator(".zax-launcher")).to_be_visible()
    with_widget = page.evaluate(probe)

    assert set(with_widget["globals"]) - set(without["globals"]) == {"ZaxWidget"}
    assert with_widget["head"] == without["head"]
    assert with_widget["body"] == [*without["body"], "ZAX-CHAT"]
    assert with_widget["h1"] == without["h1"]
    assert with_widget["outside"] == 0


# ------------------------------------------------------------- shared computers

STORED = """() => Object.keys(localStorage).filter(k => k.startsWith('zax-widget'))
    .map(k => localStorage.getItem(k)).join('\\n')"""


def test_what_the_browser_keeps_has_tpins_masked(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    for text in ("my tpin is 100 200 3004", "1002003004", "call (097) 712-3456"):
        ask(page, text)  # the fake echoes it back: the bot's message holds it too
    stored = page.evaluate(STORED)
    assert "my tpin is ******3004" in stored and "******3456" in stored
    for secret in ("100 200 3004", "1002003004", "712-3456", "100200"):
        assert secret not in stored
    # What the person sees now is unchanged; after a reload only the masked copy is left.
    expect(page.locator(".zax-msg-user .zax-bubble").first).to_have_text("my tpin is 100 200 3004")
    page.reload()
    expect(page.locator(".zax-msg-user .zax-bubble").first).to_have_text("my tpin is ******3004")


def test_the_kept_conversation_expires_after_30_idle_minutes(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    ask(page, "hello")
    sender = page.evaluate("window.ZaxWidget.senderId")

    def idle_for(minutes: int) -> None:
        page.evaluate("""(minutes) => { for (const k of Object.keys(localStorage)) {
            if (!k.startsWith('zax-widget')) continue;
            const s = JSON.parse(localStorage.getItem(k));
            s.savedAt = Date.now() - minutes * 60000;
            localStorage.setItem(k, JSON.stringify(s)); } }""", minutes)

    idle_for(29)
    page.reload()
    expect(page.locator(".zax-msg-user")).to_have_count(1)
    assert page.evaluate("window.ZaxWidget.senderId") == sender
    # the conversation is watched for status notifications (ids only)
    assert page.evaluate("Object.keys(localStorage).some(k => k.endsWith(':notify'))")
    idle_for(31)
    page.reload()
    expect(page.locator(".zax-launcher")).to_be_visible()
    expect(page.locator(".zax-msg-user")).to_have_count(0)
    assert page.evaluate("window.ZaxWidget.senderId") != sender
    assert page.evaluate(STORED) == ""  # the watched ids too: the next person sees no update


def test_a_page_left_open_forgets_after_its_idle_time(fake_rasa, serve_web, page) -> None:
    page.clock.install()
    open_widget(page, serve_web(fake_rasa.url))
    ask(page, "hello")
    page.clock.run_for(31 * 60 * 1000)
    expect(page.locator(".zax-msg-user")).to_have_count(0)
    assert page.evaluate(STORED) == ""


def test_start_over_clears_what_the_browser_keeps(fake_rasa, serve_web, page) -> None:
    open_widget(page, serve_web(fake_rasa.url))
    ask(page, "my tpin is 1002003004")
    sender = page.evaluate("window.ZaxWidget.senderId")
    assert page.evaluate(STORED)
    page.get_by_role("button", name="Start a new conversation").click()
    expect(page.locator(".zax-msg-user")).to_have_count(0)
    assert page.evaluate(STORED) == ""
    assert page.evaluate("window.ZaxWidget.senderId") != sender
    page.reload()
    expect(page.locator(".zax-msg-user")).to_have_count(0)
