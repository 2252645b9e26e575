"""The report's wording, written once for both formats (Markdown and the HTML page).

Explanations use Markdown's inline marks only (`*emphasis*` and `` `code` ``); the HTML renderer
turns them into tags, so the two files always say the same thing.
"""

from __future__ import annotations

import html


def title(since: object, until: object) -> str:
    return f"Support report: {since} to {until}"


DAYS = "Conversations and messages per day"
CONTAINMENT = "Handled without a person (containment)"
DECLINED_ONLY = "Only declined, clarified or pointed elsewhere (no answer, no person)"
HANDED_OVER = "Asked for a person"
CONTAINMENT_HEAD = ["Day", "Conversations", "Handled", "Declined only", "Handed over"]
UNANSWERED = "Questions the bot could not answer"
VOTES = "Answers marked not helpful"
ASKED = "Most asked entries"
COUNTING = "How the figures are counted"
REVIEW = "Entries due for review, by owner"
REVIEW_HEAD = ["Where", "Last reviewed", "Question"]


def review_intro(months: int) -> str:
    return (f"Not reviewed for more than {months} months (`review_after_months` in "
            "`knowledge/settings.yml`), oldest first. Check each answer is still true, then set "
            "`reviewed:` to today's date. The same list: `python -m bot review --owner NAME`.")


NO_REVIEW = "No entry is due for review."

NO_UNANSWERED = "None in this period."
NO_CONVERSATIONS = "No conversations in this period."
NO_VOTES = "No votes in this period."
NO_ASKED = "No knowledge questions in this period."

UNANSWERED_INTRO = (
    "Grouped by similarity, most frequent first. *Declined*: the bot said it cannot help with "
    "that; *unsure*: it offered topics instead of answering. Each group has a draft entry. To "
    "add an answer: paste it under `entries:` in the right `knowledge/` file, write the answer "
    "and the source, run `make validate`, then `make run` (it retrains).")

MASKED = "TPINs were masked before the conversation was stored."

COUNTING_RULES = (
    "A conversation is one chat (one sender) with at least one message in the period; messages "
    "are the users' messages, buttons included.",
    "Containment: conversations handled without a person: at least one question was answered "
    "(a knowledge answer or a declaration status) and nobody asked for a person nor started the "
    "hand-over form. Conversations whose questions were only declined or clarified count as "
    "declined only, not as handled; those with neither (a greeting, a form left half-way) "
    "count in neither. Per day, a conversation is counted on each day it has messages.",
    "Could not answer: messages the bot declined as out of scope or was unsure about (outside "
    "forms).",
)


def percent(value: float | None) -> str:
    """A share as staff read it: '86%', or 'n/a' when there was nothing to divide by."""
    return "n/a" if value is None else f"{value * 100:.0f}%"


def messages(count: int) -> str:
    return f"{count} message{'s' if count != 1 else ''}"


def escape(text: object) -> str:
    """HTML-escape any value (quotes too: it may end up in an attribute)."""
    return html.escape(str(text), quote=True)


NOTIFICATIONS = "Status notifications"
NOTIFICATIONS_ROWS = (("subscriptions", "Subscriptions made (\u201ctell me when it changes\u201d)"),
                      ("sent", "Notifications sent"),
                      ("failed", "Notifications failed (given up, or interrupted mid-send)"),
                      ("stopped", "Subscriptions stopped (\u201cstop notifications\u201d)"))
