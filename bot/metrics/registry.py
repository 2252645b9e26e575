"""The metrics of both servers, each declared once (see the package docstring).

Importing this module imports prometheus_client, which reads PROMETHEUS_MULTIPROC_DIR at that
moment: entry points call `bot.metrics.prepare_dir` first.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Label values: closed sets.
CHANNELS = ("rest", "whatsapp", "telegram")
OTHER = "other"

# Seconds: a turn is ~10-50 ms here, a slow one (action server, database) seconds, and the
# reply timeout (REPLY_TIMEOUT_SECONDS, 30) caps it.
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ACTION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- the Rasa server ---------------------------------------------------------------------------
MESSAGES = Counter("customs_messages", "User messages the Rasa server ran a turn for, by channel",
                   ["channel"])
TURN_SECONDS = Histogram("customs_turn_seconds",
                         "Time from a user message to the bot's answer (lock, NLU, actions, "
                         "store), by channel", ["channel"], buckets=TURN_BUCKETS)
OUTCOMES = Counter("customs_message_outcomes",
                   "What became of each user message: answered, clarified, declined, "
                   "handed_over, other (greetings, form answers, votes...) or failed",
                   ["outcome"])
TURN_FAILURES = Counter("customs_turn_failures",
                        "Turns answered with the technical-problem apology, by cause "
                        "(failed_action, timeout, error)", ["reason"])
STORE_FAILURES = Counter("customs_tracker_store_failures",
                         "Conversation-store reads and saves that failed (the turn got the "
                         "apology, nothing was kept in memory), by operation", ["operation"])
REFUSED = Counter("customs_refused_requests",
                  "Requests a channel refused at its door (rate limits, bad input, bad "
                  "signature), by channel and reason", ["channel", "reason"])

# --- the action server -------------------------------------------------------------------------
ACTION_CALLS = Counter("customs_action_calls", "Custom action calls the action server ran",
                       ["action"])
ACTION_ERRORS = Counter("customs_action_errors",
                        "Custom action calls that raised (HTTP 500 to the Rasa server)",
                        ["action"])
ACTION_SECONDS = Histogram("customs_action_seconds", "Time to run a custom action",
                           ["action"], buckets=ACTION_BUCKETS)
LOOKUPS = Counter("customs_declaration_lookups",
                  "Declaration status lookups: found, not_found, limited (too many failed), "
                  "unavailable (backend down), incomplete (reference or TPIN lost)", ["outcome"])
TICKETS = Counter("customs_tickets",
                  "Hand-over tickets: created, limited (a ticket limit was reached), failed",
                  ["outcome"])
VOTES = Counter("customs_votes", "Votes on knowledge answers: helpful, not_helpful", ["vote"])

OUTCOME_NAMES = ("answered", "clarified", "declined", "handed_over", "other", "failed")
LOOKUP_OUTCOMES = ("found", "not_found", "limited", "unavailable", "incomplete")
TICKET_OUTCOMES = ("created", "limited", "failed")
VOTE_NAMES = ("helpful", "not_helpful")
FAILURE_REASONS = ("failed_action", "timeout", "error")


def channel_label(name: str | None) -> str:
    """The channel as a label value: one of CHANNELS, else `other`."""
    return name if name in CHANNELS else OTHER


def start_series(server: str) -> None:
    """Create every series of a closed set at 0 for `server` ("rasa" or "actions"), so rates
    and alerts see the first increment (a series born at 1 has no earlier sample to rate
    against), and each server shows only its own metrics."""
    if server == "rasa":
        for channel in CHANNELS:
            MESSAGES.labels(channel)
        for outcome in OUTCOME_NAMES:
            OUTCOMES.labels(outcome)
        for reason in FAILURE_REASONS:
            TURN_FAILURES.labels(reason)
        return
    for outcome in LOOKUP_OUTCOMES:
        LOOKUPS.labels(outcome)
    for outcome in TICKET_OUTCOMES:
        TICKETS.labels(outcome)
    for vote in VOTE_NAMES:
        VOTES.labels(vote)
