"""The report as Markdown: for the repository, a ticket or an e-mail body."""

from __future__ import annotations

from collections import Counter

import bot.support.report.texts as texts
from bot.support.report.data import SupportReport
from bot.support.report.texts import percent


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: SupportReport) -> str:
    """The whole report; the wording comes from `texts`, shared with the HTML page."""
    r = report
    out = [f"# {texts.title(r.since, r.until)}", "",
           "| Figure | Value |", "|---|---|",
           f"| Conversations | {r.conversations} |",
           f"| Messages from users | {r.messages} |",
           f"| {texts.CONTAINMENT} | {percent(r.containment)} "
           f"({r.handled} of {r.conversations}) |",
           f"| {texts.DECLINED_ONLY} | {r.declined_only} |",
           f"| {texts.HANDED_OVER} | {r.handed_over} |",
           f"| Tickets created | {r.tickets} |",
           f"| {texts.UNANSWERED} | {r.unanswered_messages} "
           f"in {len(r.unanswered)} group(s) |", ""]
    out += [f"## {texts.DAYS}", "",
            "| Day | Conversations | Messages |", "|---|---|---|"]
    out += [f"| {d.date:%a %d %b %Y} | {d.conversations} | {d.messages} |" for d in r.days]
    out += ["", f"## {texts.CONTAINMENT}", "",
            "| " + " | ".join(texts.CONTAINMENT_HEAD) + " |",
            "|" + "---|" * len(texts.CONTAINMENT_HEAD)]
    out += [f"| {d.date:%a %d %b %Y} | {d.conversations} | {d.handled} | {d.declined_only} | "
            f"{d.handed_over} |" for d in r.days]
    out += ["", f"## {texts.UNANSWERED}", ""]
    out.append(texts.UNANSWERED_INTRO if r.unanswered else texts.NO_UNANSWERED)
    for number, group in enumerate(r.unanswered, start=1):
        kinds = Counter(m.kind for m in group.messages)
        out += ["", f"### {number}. {group.draft_question} ({texts.messages(group.count)})", "",
                ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ". Examples:", ""]
        out += [f"- \u201c{_md_cell(text)}\u201d" for text in group.examples()]
        out += ["", "Draft entry:", "", "```yaml", group.draft_yaml.rstrip(), "```"]
    out += ["", f"## {texts.VOTES}", ""]
    if r.votes_note:
        out.append(r.votes_note)
    elif not r.votes:
        out.append(texts.NO_VOTES)
    else:
        out += ["| Entry | Question | Not helpful | Helpful |", "|---|---|---|---|"]
        out += [f"| `{e}` | {_md_cell(q)} | {n} | {h} |" for e, q, n, h in r.votes]
    out += ["", f"## {texts.NOTIFICATIONS}", ""]
    if r.notifications is None:
        out.append(r.notifications_note)
    else:
        out += ["| Figure | Count |", "|---|---|"]
        out += [f"| {label} | {r.notifications[key]} |" for key, label in
                texts.NOTIFICATIONS_ROWS]
    out += ["", f"## {texts.ASKED}", ""]
    if not r.asked:
        out.append(texts.NO_ASKED)
    else:
        out += ["| Entry | Question | Times asked |", "|---|---|---|"]
        out += [f"| `{e}` | {_md_cell(q)} | {n} |" for e, q, n in r.asked[:20]]
    out += ["", f"## {texts.REVIEW}", ""]
    out.append(texts.review_intro(r.review_months) if r.due_reviews else texts.NO_REVIEW)
    for owner, items in r.due_reviews.items():
        out += ["", f"### {_md_cell(owner)} ({len(items)})", "",
                "| " + " | ".join(texts.REVIEW_HEAD) + " |", "|---|---|---|"]
        out += [f"| `{d.where}` | {d.reviewed} | {_md_cell(d.question)} |" for d in items]
    out += ["", f"## {texts.COUNTING}", ""]
    out += [f"- {line}" for line in (*texts.COUNTING_RULES, texts.MASKED, *r.notes)]
    return "\n".join(out) + "\n"
