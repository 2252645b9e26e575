"""The support unit's insights report, read from the conversation store for a period.

What the bot declined or was unsure about (grouped by similarity, each group with a draft
knowledge entry to complete), answers voted unhelpful, the most asked entries, conversations
and messages per day, and the share of conversations handled without a person. Written as
Markdown and as one self-contained HTML page.

    python -m bot report [--days 7 | --since 2026-11-01 --until 2026-11-30] [--out var/reports]

Parts: `data` (the figures: `SupportReport`, `build_report`), `drafts` (grouping, draft
entries), `texts` (wording shared by both formats), `markdown`, `html` and `charts` (SVG),
`command` (the CLI entry). Reading Rasa's events table is `bot.support.events`' job.
"""

from bot.support.report.command import main, write_report
from bot.support.report.data import Day, Group, SupportReport, build_report, period
from bot.support.report.drafts import draft_entry, draft_id, group_texts
from bot.support.report.html import to_html
from bot.support.report.markdown import to_markdown

__all__ = ["Day", "Group", "SupportReport", "build_report", "draft_entry", "draft_id",
           "group_texts", "main", "period", "to_html", "to_markdown", "write_report"]
