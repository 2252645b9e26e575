"""The message keys the code reads from `knowledge/messages.yml`, declared once.

A deleted or misspelt key makes the bot send an empty message, and a misspelt placeholder shows
up in braces, so `validate` checks both against this table. A test checks that every
`.message("key")` in the code is listed here.
"""

from __future__ import annotations

from bot.content.model import KnowledgeBase, Problem, placeholders
from bot.content.text import suggest

# Said only when the knowledge base itself cannot be read, so it cannot come from there; the
# one copy (the lookup and the notification actions both fall back to it).
LAST_RESORT = "Please contact the customs contact centre."

# key -> the {placeholders} the code fills in for it (settings.yml names work everywhere).
REQUIRED_MESSAGES: dict[str, tuple[str, ...]] = {
    # ActionReply: one message per conversation intent ("handoff" also for request_human).
    "greet": (),
    "goodbye": (),
    "thank": (),
    "bot_challenge": (),
    "capabilities": (),
    "check_status_button": (),
    "category_intro": ("category",),
    "handoff": (),
    "out_of_scope": (),
    "clarify": (),
    "something_else_button": (),
    "something_else": (),
    "still_not_understood": (),
    "affirm": (),
    "deny": (),
    "stop": (),
    "answer_unavailable": (),
    # ActionAnswerKnowledge: before the button to another question of the message
    "offer_also_asked": (),
    # bot.understanding and actions/interruptions.py
    "other_language": (),
    "domestic_tax": (),
    "form_resume": (),
    "form_not_an_answer": (),
    "form_no_tpin_here": (),
    # Answer feedback
    "feedback_ask": (),
    "feedback_yes_button": (),
    "feedback_no_button": (),
    "feedback_thanks": (),
    "feedback_sorry": (),
    "feedback_rephrase_button": (),
    "feedback_person_button": (),
    # Hand-over form
    "handoff_intro": (),
    "handoff_ask_name": (),
    "handoff_ask_question": (),
    "handoff_ask_contact": (),
    "handoff_invalid_name": (),
    "handoff_invalid_question": (),
    "handoff_invalid_contact": (),
    "handoff_in_progress": (),
    "handoff_ticket": ("ticket", "name"),
    "handoff_cancelled": (),
    "handoff_failed": (),
    "handoff_limit": (),
    # Declaration status check ({contact} is the "handoff" message, {tpin} is masked)
    "declaration_reference_first": (),
    "declaration_reference_missing": ("example",),
    "declaration_reference_invalid": ("reason", "example"),
    "declaration_tpin_invalid": ("reason",),
    "declaration_start_over": (),
    "declaration_status": ("reference", "tpin", "label"),
    "declaration_status_lane": ("lane",),
    "declaration_status_next": ("next",),
    "declaration_status_action": ("action",),
    "declaration_status_changed": ("date",),
    "declaration_not_found": ("tpin",),
    "declaration_retry": ("reference",),
    "declaration_limit": ("contact",),
    "declaration_unavailable": ("contact",),
    "declaration_another": (),
    "declaration_another_yes_button": (),
    "declaration_another_no_button": (),
    "declaration_cancelled": (),
    # Status notifications (actions/notify.py, bot/notify/text.py)
    "notify_offer": ("reference", "days"),
    "notify_yes_button": (),
    "notify_subscribed": ("reference", "days"),
    "notify_limit": ("count",),
    "notify_nothing_offered": (),
    "notify_failed": (),
    "notify_stopped": ("count",),
    "notify_none_to_stop": (),
    "notify_update": ("reference", "label", "next", "action", "date"),
    "notify_stop_hint": (),
    # The apology when a turn fails (the Rasa server's channels)
    "technical_problem": (),
}


def _missing(kb: KnowledgeBase, file: str) -> list[Problem]:
    return [Problem(file, 1, f"message '{key}' is missing: the bot needs it; add a line "
                    f"'{key}: \"...\"' (see the repository's knowledge/messages.yml)")
            for key in REQUIRED_MESSAGES if key not in kb.messages]


def _unused(kb: KnowledgeBase, file: str) -> list[Problem]:
    known = list(REQUIRED_MESSAGES)
    return [Problem(file, kb.message_lines.get(key, 1),
                    f"message '{key}' is not used by the bot{suggest(key, known)}", "warning")
            for key in kb.messages if key not in REQUIRED_MESSAGES]


def _unknown_placeholders(kb: KnowledgeBase, file: str) -> list[Problem]:
    problems = []
    for key, text in kb.messages.items():
        filled_here = REQUIRED_MESSAGES.get(key, ())
        allowed = sorted(set(kb.settings) | set(filled_here))
        also = f" and {', '.join(f'{{{name}}}' for name in filled_here)}" if filled_here else ""
        for name in placeholders(text) if isinstance(text, str) else ():
            if name not in allowed:
                problems.append(Problem(
                    file, kb.message_lines.get(key, 1),
                    f"unknown placeholder {{{name}}} in message '{key}'{suggest(name, allowed)}; "
                    f"placeholders are the names in settings.yml{also}"))
    return problems


def message_problems(kb: KnowledgeBase, file: str) -> list[Problem]:
    """Required keys that are missing, keys nothing uses, and unknown placeholders."""
    if not kb.messages:
        return []  # the file could not be read, and the reader has said why
    return _missing(kb, file) + _unused(kb, file) + _unknown_placeholders(kb, file)
