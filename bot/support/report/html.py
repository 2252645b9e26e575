"""The report as one self-contained web page: inline CSS and SVG, no scripts, no downloads, so it
opens from a file or an e-mail attachment. Every value from the store is escaped (`_e`)."""

from __future__ import annotations

import re
from collections import Counter

import bot.support.report.texts as texts
from bot.support.report.charts import BLUE, ORANGE, svg_containment, svg_day_chart, svg_hbars
from bot.support.report.data import SupportReport
from bot.support.report.texts import escape as _e
from bot.support.report.texts import percent

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;
max-width:980px;margin:24px auto;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:2px solid
#e3e8ee;padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{flex:1 1 150px;background:#f4f7fa;border-radius:8px;padding:10px 14px}
.card b{display:block;font-size:24px}.card span{color:#51606f;font-size:13px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:5px 8px;
border-bottom:1px solid #e3e8ee;vertical-align:top}th{background:#f4f7fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#0f1720;color:#e6edf3;padding:12px;border-radius:6px;overflow:auto;font-size:13px}
details{margin:6px 0 14px}summary{cursor:pointer;color:#0b5cad}
.muted{color:#51606f;font-size:13px}svg text{font-family:inherit}
"""


def _inline(text: str) -> str:
    """Shared wording (Markdown inline marks) as HTML: `code` and *emphasis*, the rest escaped."""
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))
    return re.sub(r"\*([^*]+)\*", r"<i>\1</i>", out)


def _table(head: list[str], rows: list[list[object]], numeric: set[int]) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: SupportReport) -> str:
    """The whole page; the wording comes from `texts`, shared with the Markdown file."""
    r = report
    cards = [(r.conversations, "conversations"), (r.messages, "messages from users"),
             (percent(r.containment), "handled without a person"),
             (r.tickets, "tickets created"), (r.unanswered_messages, "questions not answered")]
    body = [f"<h1>{_e(texts.title(r.since, r.until))}</h1>",
            f'<p class="muted">From the conversation store. {_inline(texts.MASKED)}</p>',
            '<div class="cards">' + "".join(f"<div class=card><b>{_e(v)}</b><span>{_e(k)}"
                                            "</span></div>" for v, k in cards) + "</div>",
            f"<h2>{_e(texts.DAYS)}</h2>", svg_day_chart(r.days),
            f"<h2>{_e(texts.CONTAINMENT)}</h2>",
            svg_containment(r) or f"<p>{_e(texts.NO_CONVERSATIONS)}</p>",
            _table(texts.CONTAINMENT_HEAD,
                   [[f"{d.date:%a %d %b %Y}", d.conversations, d.handled, d.declined_only,
                     d.handed_over] for d in r.days], {1, 2, 3, 4}) if r.conversations else "",
            f"<h2>{_e(texts.UNANSWERED)}</h2>"]
    if not r.unanswered:
        body.append(f"<p>{_e(texts.NO_UNANSWERED)}</p>")
    else:
        body.append(f"<p>{_inline(texts.UNANSWERED_INTRO)}</p>")
        body.append(svg_hbars([(g.draft_question, g.count) for g in r.unanswered[:12]],
                              ORANGE, label="Unanswered questions by group"))
        for number, g in enumerate(r.unanswered, start=1):
            kinds = Counter(m.kind for m in g.messages)
            body.append(f"<h3>{number}. {_e(g.draft_question)} ({texts.messages(g.count)})</h3>")
            body.append('<p class="muted">' + _e(", ".join(
                f"{n} {k}" for k, n in sorted(kinds.items()))) + "</p><ul>"
                + "".join(f"<li>\u201c{_e(t)}\u201d</li>" for t in g.examples()) + "</ul>")
            body.append("<details><summary>Draft entry (YAML)</summary><pre>"
                        f"{_e(g.draft_yaml)}</pre></details>")
    body.append(f"<h2>{_e(texts.VOTES)}</h2>")
    if r.votes_note:
        body.append(f"<p>{_e(r.votes_note)}</p>")
    elif not r.votes:
        body.append(f"<p>{_e(texts.NO_VOTES)}</p>")
    else:
        body.append(_table(["Entry", "Question", "Not helpful", "Helpful"],
                           [list(v) for v in r.votes], {2, 3}))
    body.append(f"<h2>{_e(texts.NOTIFICATIONS)}</h2>")
    if r.notifications is None:
        body.append(f"<p>{_e(r.notifications_note)}</p>")
    else:
        body.append(_table(["Figure", "Count"], [[label, r.notifications[key]] for key, label
                                                 in texts.NOTIFICATIONS_ROWS], {1}))
    body.append(f"<h2>{_e(texts.ASKED)}</h2>")
    if not r.asked:
        body.append(f"<p>{_e(texts.NO_ASKED)}</p>")
    else:
        body.append(svg_hbars([(q, n) for _, q, n in r.asked[:12]], BLUE,
                              label=texts.ASKED))
        body.append(_table(["Entry", "Question", "Times asked"],
                           [list(a) for a in r.asked[:20]], {2}))
    body.append(f"<h2>{_e(texts.REVIEW)}</h2>")
    body.append(f"<p>{_inline(texts.review_intro(r.review_months))}</p>" if r.due_reviews
                else f"<p>{_e(texts.NO_REVIEW)}</p>")
    for owner, items in r.due_reviews.items():
        body.append(f"<h3>{_e(owner)} ({len(items)})</h3>")
        body.append(_table(texts.REVIEW_HEAD, [[d.where, d.reviewed, d.question]
                                               for d in items], set()))
    body.append(f"<h2>{_e(texts.COUNTING)}</h2><ul>"
                + "".join(f"<li>{_inline(line)}</li>" for line in texts.COUNTING_RULES)
                + "".join(f"<li>{_e(n)}</li>" for n in r.notes) + "</ul>")
    return ("<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f"<title>Support report {_e(r.since)} to {_e(r.until)}</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n")
