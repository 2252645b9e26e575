"""The support unit's insights report, read from the conversation store for a period.

What the bot declined or was unsure about (grouped by similarity, each group with a draft
knowledge entry to complete), answers voted unhelpful, the most asked entries, conversations
and messages per day, and the share of conversations handled without a person. Written as
Markdown and as one self-contained HTML page (charts are inline SVG drawn here: no scripts, no
downloads), so it opens from a file or an e-mail attachment.

Grouping is deterministic: TF-IDF of character n-grams (IDF fitted on the knowledge examples
plus the messages, so everyday words weigh little), cosine distance, average-linkage
agglomerative clustering with a fixed threshold.

    python -m bot report [--days 7 | --since 2026-11-01 --until 2026-11-30] [--out var/reports]
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.content.knowledge import ID_PATTERN, INTENT_PREFIX, Entry, KnowledgeBase
from bot.names import CREATE_TICKET_ACTION, HANDOVER_FORM, NLU_FALLBACK, OUT_OF_SCOPE, REQUEST_HUMAN
from bot.support.retention import events_table

logger = logging.getLogger(__name__)

UNANSWERED = {OUT_OF_SCOPE: "declined", NLU_FALLBACK: "unsure"}
# Average cosine similarity (char n-gram TF-IDF) above which messages count as one question.
GROUP_SIMILARITY = 0.2
MAX_EXAMPLES_SHOWN = 6
DRAFT_MIN_EXAMPLES = 8
# Rewordings that fill a draft up to the examples validate asks for, marked as such in the draft.
VARIANT_TEMPLATES = ("{m} please", "can you tell me {m}", "i would like to know {m}",
                     "quick question {m}", "i need help {m}", "please answer {m}", "help {m}")
_STOP = {"a", "an", "the", "is", "are", "be", "to", "of", "in", "on", "for", "and", "or", "i",
         "my", "me", "you", "your", "do", "does", "can", "will", "what", "whats", "how", "who",
         "where", "when", "which", "why", "it", "this", "that", "there", "with", "at", "by",
         "please", "tell", "about", "like", "much", "s", "we", "get", "from", "if", "any"}


@dataclass(frozen=True)
class Message:
    conversation: str
    timestamp: float
    text: str
    kind: str  # "declined" or "unsure"


@dataclass
class Group:
    messages: list[Message]
    draft_id: str = ""
    draft_question: str = ""
    draft_yaml: str = ""

    @property
    def count(self) -> int:
        return len(self.messages)

    def examples(self, limit: int = MAX_EXAMPLES_SHOWN) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.messages:
            seen.setdefault(m.text, None)
        return list(seen)[:limit]


@dataclass
class Day:
    date: dt.date
    conversations: int
    messages: int


@dataclass
class Report:
    since: dt.date
    until: dt.date  # inclusive
    days: list[Day]
    conversations: int
    messages: int
    handed_over: int
    tickets: int
    unanswered: list[Group]
    asked: list[tuple[str, str, int]]  # entry id, question, times asked
    votes: list[tuple[str, str, int, int]]  # entry id, question, not helpful, helpful
    votes_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def unanswered_messages(self) -> int:
        return sum(g.count for g in self.unanswered)

    @property
    def containment(self) -> float | None:
        if not self.conversations:
            return None
        return (self.conversations - self.handed_over) / self.conversations


# --- reading the store ------------------------------------------------------------------------

def period(days: int | None = None, since: dt.date | None = None, until: dt.date | None = None,
           today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(first day, last day), both included: the last `days` days up to today by default."""
    today = today or dt.date.today()
    until = until or today
    since = since or until - dt.timedelta(days=(days or 7) - 1)
    if since > until:
        raise ValueError(f"the period starts ({since}) after it ends ({until})")
    return since, until


def _local_ts(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time()).timestamp()  # local midnight


@dataclass
class _Facts:
    per_day_messages: Counter = field(default_factory=Counter)
    per_day_senders: dict[dt.date, set[str]] = field(default_factory=lambda: defaultdict(set))
    senders: set[str] = field(default_factory=set)
    handed_over: set[str] = field(default_factory=set)
    tickets: int = 0
    unanswered: list[Message] = field(default_factory=list)
    asked: Counter = field(default_factory=Counter)


def read_events(engine: Engine, since: dt.date, until: dt.date) -> _Facts:
    """Walk the period's events conversation by conversation, in the order they happened."""
    facts = _Facts()
    table = events_table(engine)
    if table is None:
        return facts
    t = table.c
    start, end = _local_ts(since), _local_ts(until + dt.timedelta(days=1))
    query = (sa.select(t.sender_id, t.type_name, t.timestamp, t.intent_name, t.action_name,
                       t.data)
             .where(t.timestamp >= start, t.timestamp < end)
             .order_by(t.sender_id, t.timestamp, t.id))
    loop: dict[str, str | None] = {}
    with engine.connect() as conn:
        for sender, kind, stamp, intent, action, raw in conn.execute(query):
            if kind == "active_loop":
                name = _json(raw).get("name")
                loop[sender] = name
                if name == HANDOVER_FORM:
                    facts.handed_over.add(sender)
                continue
            if kind == "action" and action == CREATE_TICKET_ACTION:
                facts.tickets += 1
                continue
            if kind != "user":
                continue
            data = _json(raw)
            text = data.get("text") or ""
            day = dt.datetime.fromtimestamp(stamp).date()
            facts.senders.add(sender)
            facts.per_day_senders[day].add(sender)
            facts.per_day_messages[day] += 1
            intent = intent or ((data.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == REQUEST_HUMAN:
                facts.handed_over.add(sender)
            if intent and intent.startswith(INTENT_PREFIX):
                facts.asked[intent[len(INTENT_PREFIX):]] += 1
            elif (intent in UNANSWERED and not loop.get(sender) and text
                  and not text.startswith("/")):
                # Inside a form a message answers the form's question: not a knowledge gap.
                facts.unanswered.append(Message(sender, stamp, text.strip(), UNANSWERED[intent]))
    return facts


def _json(raw: str | None) -> dict:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- grouping and drafts ----------------------------------------------------------------------

def normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def group_texts(texts: list[str], reference: list[str],
                similarity: float = GROUP_SIMILARITY) -> list[list[int]]:
    """Indices of `texts` grouped by similarity; largest group first, then first seen."""
    if not texts:
        return []
    keys = [normalise(t) or t.lower() for t in texts]
    unique = list(dict.fromkeys(keys))
    if len(unique) == 1:
        labels = [0]
    else:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        vectorizer.fit([normalise(r) for r in reference] + unique)
        matrix = vectorizer.transform(unique).toarray()
        clustering = AgglomerativeClustering(n_clusters=None, affinity="cosine",
                                             linkage="average",
                                             distance_threshold=1.0 - similarity)
        labels = list(clustering.fit_predict(matrix))
    label_of = dict(zip(unique, labels, strict=True))
    groups: dict[int, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        groups[label_of[key]].append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def _keywords(texts: list[str], count: int = 3) -> list[str]:
    words = Counter(w for t in texts for w in set(normalise(t).split())
                    if w not in _STOP and not w.isdigit() and len(w) > 1)
    return [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))][:count]


def draft_id(texts: list[str], taken: set[str]) -> str:
    base = "_".join(_keywords(texts)) or "new_question"
    base = re.sub(r"[^a-z0-9_]", "", base)[:50]
    if not base or not base[0].isalpha():
        base = "q_" + base
    candidate, n = base, 2
    while candidate in taken or not ID_PATTERN.match(candidate):
        candidate = f"{base}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _question(text: str) -> str:
    text = " ".join(text.split()).rstrip(" .!?")
    return (text[:1].upper() + text[1:] + "?") if text else "New question?"


def _conflicting(kb: KnowledgeBase, examples: list[str], other_examples: dict[str, str],
                 today: dt.date) -> set[int]:
    """Indices of draft examples that `validate` would reject next to the current knowledge."""
    from bot.content.checks import check

    draft = Entry(id="zz_report_draft", category="draft", question="Draft?",
                  examples=examples, answer="draft", source="draft", owner="draft",
                  reviewed=today, file="<draft>", line=0,
                  example_lines=list(range(1, len(examples) + 1)))
    probe = KnowledgeBase(entries={**kb.entries, draft.id: draft}, categories=kb.categories,
                          settings=kb.settings, messages=kb.messages)
    bad = set()
    for problem in check(probe, today=today, min_examples=0, other_examples=other_examples):
        if problem.file == "<draft>" and problem.line >= 1 and problem.severity == "error":
            bad.add(problem.line - 1)
    return bad


def draft_examples(real: list[str], kb: KnowledgeBase | None, other_examples: dict[str, str],
                   today: dt.date) -> tuple[list[str], list[str], list[str]]:
    """(real examples kept, generated variants, real messages dropped) for a draft entry."""
    real = list(dict.fromkeys(" ".join(r.split()) for r in real if normalise(r)))
    seen = {normalise(r) for r in real}
    variants = []
    for template in VARIANT_TEMPLATES:
        for message in real:
            core = re.sub(r"(?:[\s,]+please)+$", "", message.rstrip(" ?.!").lower())
            text = template.format(m=core)
            if normalise(text) not in seen:
                seen.add(normalise(text))
                variants.append(text)
    if kb is None:
        return real, variants[:max(0, DRAFT_MIN_EXAMPLES - len(real))], []
    bad = _conflicting(kb, real + variants, other_examples, today)
    kept = [r for i, r in enumerate(real) if i not in bad]
    dropped = [r for i, r in enumerate(real) if i in bad]
    good_variants = [v for i, v in enumerate(variants, start=len(real)) if i not in bad]
    return kept, good_variants[:max(0, DRAFT_MIN_EXAMPLES - len(kept))], dropped


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, default_style=None, width=1000, allow_unicode=True) \
        .removesuffix("\n...\n").strip()


def draft_entry(group: Group, entry_id: str, kb: KnowledgeBase | None,
                other_examples: dict[str, str], today: dt.date, owner: str) -> str:
    """A YAML entry to paste under `entries:` of a category file; only the answer is missing."""
    texts = [m.text for m in group.messages]
    kept, variants, dropped = draft_examples(texts, kb, other_examples, today)
    representative = kept[0] if kept else texts[0]
    lines = [f"  - id: {entry_id}",
             f"    question: {_scalar(_question(representative))}",
             "    examples:",
             "      # what people typed (from the conversations)"]
    lines += [f"      - {_scalar(e)}" for e in kept]
    if variants:
        lines.append("      # rewordings added to reach 8 examples: improve or replace them")
        lines += [f"      - {_scalar(v)}" for v in variants]
    if dropped:
        lines.append("      # left out: already examples of another intent: "
                     + "; ".join(d.replace("#", "") for d in dropped)[:300])
    source = f"Support report {today.isoformat()}: add the official source"
    lines += ["    # write the answer between the quotes (or `answer: |` and lines below)",
              '    answer: ""',
              f"    source: {_scalar(source)}",
              f"    owner: {_scalar(owner)}",
              f"    reviewed: {today.isoformat()}"]
    return "\n".join(lines) + "\n"


# --- building the report ----------------------------------------------------------------------

def build_report(engine: Engine, since: dt.date, until: dt.date,
                 kb: KnowledgeBase | None = None, data_dir: Path | None = None,
                 votes: dict[str, dict[str, int]] | None = None,
                 today: dt.date | None = None) -> Report:
    """Everything the report shows, computed from the store (and the votes table)."""
    today = today or dt.date.today()
    facts = read_events(engine, since, until)
    other_examples: dict[str, str] = {}
    if data_dir is not None:
        from bot.content.checks import conversation_examples

        other_examples = conversation_examples(data_dir)
    reference = [e for entry in kb.entries.values() for e in entry.examples] if kb else []
    owners = Counter(e.owner for e in kb.entries.values()) if kb else Counter()
    owner = owners.most_common(1)[0][0] if owners else "Customer Support Unit"
    taken = set(kb.entries) if kb else set()
    groups = []
    texts = [m.text for m in facts.unanswered]
    for indices in group_texts(texts, reference):
        group = Group([facts.unanswered[i] for i in indices])
        group.draft_id = draft_id([m.text for m in group.messages], taken)
        group.draft_yaml = draft_entry(group, group.draft_id, kb, other_examples, today, owner)
        group.draft_question = _question(group.messages[0].text)
        groups.append(group)

    def question(entry_id: str) -> str:
        entry = kb.entries.get(entry_id) if kb else None
        return kb.fill(entry.question) if entry else f"(entry {entry_id} no longer exists)"

    asked = [(e, question(e), n) for e, n in
             sorted(facts.asked.items(), key=lambda kv: (-kv[1], kv[0]))]
    vote_rows = [(e, question(e), v["not_helpful"], v["helpful"])
                 for e, v in (votes or {}).items() if v["not_helpful"] or v["helpful"]]
    vote_rows.sort(key=lambda r: (-r[2], r[3], r[0]))
    days = []
    day = since
    while day <= until:
        days.append(Day(day, len(facts.per_day_senders.get(day, ())),
                        facts.per_day_messages.get(day, 0)))
        day += dt.timedelta(days=1)
    return Report(since=since, until=until, days=days, conversations=len(facts.senders),
                  messages=sum(facts.per_day_messages.values()),
                  handed_over=len(facts.handed_over & facts.senders), tickets=facts.tickets,
                  unanswered=groups, asked=asked, votes=vote_rows)


# --- Markdown ---------------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    r = report
    out = [f"# Support report: {r.since} to {r.until}", "",
           "| Figure | Value |", "|---|---|",
           f"| Conversations | {r.conversations} |",
           f"| Messages from users | {r.messages} |",
           f"| Handled without a person (containment) | {_pct(r.containment)} "
           f"({r.conversations - r.handed_over} of {r.conversations}) |",
           f"| Conversations that asked for a person | {r.handed_over} |",
           f"| Tickets created | {r.tickets} |",
           f"| Questions the bot could not answer | {r.unanswered_messages} "
           f"in {len(r.unanswered)} group(s) |", ""]
    out += ["## Conversations and messages per day", "",
            "| Day | Conversations | Messages |", "|---|---|---|"]
    out += [f"| {d.date:%a %d %b %Y} | {d.conversations} | {d.messages} |" for d in r.days]
    out += ["", "## Questions the bot could not answer", ""]
    if not r.unanswered:
        out.append("None in this period.")
    out.append("Grouped by similarity, most frequent first. *Declined*: the bot said it cannot "
               "help with that; *unsure*: it offered topics instead of answering. Each group "
               "has a draft entry: paste it under `entries:` in the right `knowledge/` file, "
               "write the answer and the source, run `make validate`, then `make run` "
               "(retrains).")
    for number, group in enumerate(r.unanswered, start=1):
        kinds = Counter(m.kind for m in group.messages)
        out += ["", f"### {number}. {group.draft_question} ({group.count} "
                f"message{'s' if group.count != 1 else ''})", "",
                ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ". Examples:", ""]
        out += [f"- \u201c{_md_cell(text)}\u201d" for text in group.examples()]
        out += ["", "Draft entry:", "", "```yaml", group.draft_yaml.rstrip(), "```"]
    out += ["", "## Answers marked not helpful", ""]
    if r.votes_note:
        out.append(r.votes_note)
    elif not r.votes:
        out.append("No votes in this period.")
    else:
        out += ["| Entry | Question | Not helpful | Helpful |", "|---|---|---|---|"]
        out += [f"| `{e}` | {_md_cell(q)} | {n} | {h} |" for e, q, n, h in r.votes]
    out += ["", "## Most asked entries", ""]
    if not r.asked:
        out.append("No knowledge questions in this period.")
    else:
        out += ["| Entry | Question | Times asked |", "|---|---|---|"]
        out += [f"| `{e}` | {_md_cell(q)} | {n} |" for e, q, n in r.asked[:20]]
    out += ["", "## How the figures are counted", "",
            "- A conversation is one chat (one sender) with at least one message in the period; "
            "messages are the users' messages, buttons included.",
            "- Containment: conversations in which nobody asked for a person and the hand-over "
            "form was not started.",
            "- Could not answer: messages the bot declined as out of scope or was unsure about "
            "(outside forms). TPINs were masked before the conversation was stored."]
    out += [f"- {note}" for note in r.notes]
    return "\n".join(out) + "\n"


# --- HTML -------------------------------------------------------------------------------------

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
_BLUE, _GREEN, _ORANGE, _GREY = "#2f6fb3", "#2e8b57", "#d9822b", "#c9d3dd"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def svg_day_chart(days: list[Day], width: int = 900, height: int = 240) -> str:
    """Grouped bars: conversations and messages per day, with axis labels."""
    left, bottom, top = 40, 40, 16
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max([d.messages for d in days] + [d.conversations for d in days] + [1])
    slot = plot_w / max(len(days), 1)
    bar = max(min(slot * 0.36, 28), 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
             f'viewBox="0 0 {width} {height}" aria-label="Conversations and messages per day">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
             'stroke="#8a97a5"/>',
             f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">{peak}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>']
    label_every = max(1, len(days) // 14)
    for i, d in enumerate(days):
        x = left + i * slot + slot / 2
        for offset, value, colour, what in ((-bar, d.conversations, _BLUE, "conversations"),
                                            (0, d.messages, _ORANGE, "messages")):
            h = plot_h * value / peak
            parts.append(f'<rect x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{_e(d.date)}: {value} {what}</title></rect>')
            if value:
                parts.append(f'<text x="{x + offset + bar / 2:.1f}" y="{top + plot_h - h - 3:.1f}"'
                             f' text-anchor="middle" font-size="10">{value}</text>')
        if i % label_every == 0:
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                         f'font-size="11">{d.date:%d %b}</text>')
    legend_y = height - 8
    parts.append(f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="{_BLUE}"/>'
                 f'<text x="{left + 14}" y="{legend_y}" font-size="11">conversations</text>'
                 f'<rect x="{left + 110}" y="{legend_y - 9}" width="10" height="10" '
                 f'fill="{_ORANGE}"/><text x="{left + 124}" y="{legend_y}" font-size="11">'
                 'messages</text></svg>')
    return "".join(parts)


def svg_hbars(rows: list[tuple[str, int]], colour: str = _BLUE, width: int = 900,
              label: str = "") -> str:
    """Horizontal bars with their labels and counts (top groups, most asked entries)."""
    if not rows:
        return ""
    row_h, label_w = 26, 380
    height = row_h * len(rows) + 8
    peak = max(n for _, n in rows) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
             f'viewBox="0 0 {width} {height}" aria-label="{_e(label)}">']
    for i, (text, n) in enumerate(rows):
        y = 4 + i * row_h
        short = text if len(text) <= 58 else text[:55] + "..."
        w = (width - label_w - 50) * n / peak
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="12">'
                     f'{_e(short)}<title>{_e(text)}</title></text>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                     f'fill="{colour}"/><text x="{label_w + w + 6:.1f}" y="{y + 17}" '
                     f'font-size="12">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_containment(report: Report, width: int = 900) -> str:
    """One stacked bar: handled by the bot alone vs. handed to a person."""
    total = report.conversations
    if not total:
        return ""
    alone = total - report.handed_over
    w_alone = (width - 20) * alone / total
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
            f'viewBox="0 0 {width} 56" aria-label="Containment">'
            f'<rect x="10" y="6" width="{w_alone:.1f}" height="24" fill="{_GREEN}"/>'
            f'<rect x="{10 + w_alone:.1f}" y="6" width="{width - 20 - w_alone:.1f}" '
            f'height="24" fill="{_GREY}"/>'
            f'<text x="10" y="48" font-size="12">handled without a person: {alone} '
            f'({_pct(report.containment)})</text>'
            f'<text x="{width - 10}" y="48" text-anchor="end" font-size="12">asked for a '
            f'person: {report.handed_over}</text></svg>')


def _table(head: list[str], rows: list[list[object]], numeric: set[int]) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: Report) -> str:
    r = report
    cards = [(r.conversations, "conversations"), (r.messages, "messages from users"),
             (_pct(r.containment), "handled without a person"), (r.tickets, "tickets created"),
             (r.unanswered_messages, "questions not answered")]
    body = [f"<h1>Support report: {_e(r.since)} to {_e(r.until)}</h1>",
            '<p class="muted">From the conversation store; TPINs were masked before storage.</p>',
            '<div class="cards">' + "".join(f"<div class=card><b>{_e(v)}</b><span>{_e(k)}"
                                            "</span></div>" for v, k in cards) + "</div>",
            "<h2>Conversations and messages per day</h2>", svg_day_chart(r.days),
            "<h2>Handled without a person (containment)</h2>",
            svg_containment(r) or "<p>No conversations in this period.</p>",
            "<h2>Questions the bot could not answer</h2>"]
    if not r.unanswered:
        body.append("<p>None in this period.</p>")
    else:
        body.append("<p>Grouped by similarity, most frequent first. <i>Declined</i>: the bot "
                    "said it cannot help with that; <i>unsure</i>: it offered topics instead "
                    "of answering. To add an answer: copy the draft entry under "
                    "<code>entries:</code> in the right <code>knowledge/</code> file, write the "
                    "answer and the source, run <code>make validate</code>, then "
                    "<code>make run</code> (it retrains).</p>")
        body.append(svg_hbars([(g.draft_question, g.count) for g in r.unanswered[:12]],
                              _ORANGE, label="Unanswered questions by group"))
        for number, g in enumerate(r.unanswered, start=1):
            kinds = Counter(m.kind for m in g.messages)
            body.append(f"<h3>{number}. {_e(g.draft_question)} ({g.count} message"
                        f"{'s' if g.count != 1 else ''})</h3>")
            body.append('<p class="muted">' + _e(", ".join(
                f"{n} {k}" for k, n in sorted(kinds.items()))) + "</p><ul>"
                + "".join(f"<li>\u201c{_e(t)}\u201d</li>" for t in g.examples()) + "</ul>")
            body.append("<details><summary>Draft entry (YAML)</summary><pre>"
                        f"{_e(g.draft_yaml)}</pre></details>")
    body.append("<h2>Answers marked not helpful</h2>")
    if r.votes_note:
        body.append(f"<p>{_e(r.votes_note)}</p>")
    elif not r.votes:
        body.append("<p>No votes in this period.</p>")
    else:
        body.append(_table(["Entry", "Question", "Not helpful", "Helpful"],
                           [list(v) for v in r.votes], {2, 3}))
    body.append("<h2>Most asked entries</h2>")
    if not r.asked:
        body.append("<p>No knowledge questions in this period.</p>")
    else:
        body.append(svg_hbars([(q, n) for _, q, n in r.asked[:12]], _BLUE,
                              label="Most asked entries"))
        body.append(_table(["Entry", "Question", "Times asked"],
                           [list(a) for a in r.asked[:20]], {2}))
    body.append("<h2>How the figures are counted</h2><ul>"
                "<li>A conversation is one chat (one sender) with at least one message in the "
                "period; messages are the users' messages, buttons included.</li>"
                "<li>Containment: conversations in which nobody asked for a person and the "
                "hand-over form was not started.</li>"
                "<li>Could not answer: messages the bot declined as out of scope or was unsure "
                "about (outside forms).</li>"
                + "".join(f"<li>{_e(n)}</li>" for n in r.notes) + "</ul>")
    return ("<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f"<title>Support report {_e(r.since)} to {_e(r.until)}</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n")


# --- command ----------------------------------------------------------------------------------

def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"support-report-{report.since}-to-{report.until}"
    md, page = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    md.write_text(to_markdown(report), encoding="utf-8")
    page.write_text(to_html(report), encoding="utf-8")
    return md, page


def main(days: int | None = None, since: dt.date | None = None, until: dt.date | None = None,
         out_dir: Path | None = None) -> int:
    """CLI entry: read the store for the period, write both files, print where they are."""
    from bot.content.live import get_knowledge
    from bot.settings.paths import DATA_DIR, var_dir
    from bot.support.retention import tracker_engine

    try:
        first, last = period(days, since, until)
    except ValueError as error:
        print(error)
        return 1
    kb = get_knowledge()
    votes, note = None, ""
    try:
        from bot.appdb.votes import vote_counts

        def utc(day: dt.date) -> dt.datetime:
            return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.timezone.utc)

        votes = vote_counts(utc(first), utc(last + dt.timedelta(days=1)))
    except Exception as error:  # votes live in the application database, which may be down
        note = f"Votes unavailable: the application database could not be read ({error})."
    engine = tracker_engine()
    try:
        report = build_report(engine, first, last, kb=kb, data_dir=DATA_DIR, votes=votes)
    except sa.exc.SQLAlchemyError as error:
        print(f"Cannot read the conversation store ({engine.url.render_as_string()}): "
              f"{type(error).__name__}")
        return 1
    finally:
        engine.dispose()
    report.votes_note = note
    md, page = write_report(report, out_dir or var_dir() / "reports")
    print(f"Support report {first} to {last}: {report.conversations} conversation(s), "
          f"{report.messages} message(s), containment {_pct(report.containment)}, "
          f"{report.unanswered_messages} unanswered question(s) in "
          f"{len(report.unanswered)} group(s).")
    print(f"  Markdown: {md}")
    print(f"  Web page: {page}  (open it in a browser)")
    return 0
