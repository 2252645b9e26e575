"""The report page's three charts, drawn as inline SVG.

Hand-drawn rather than matplotlib: a few lines each, no scripts, deterministic output, and
`<title>` tooltips that screen readers and the e-mailed page keep.
"""

from __future__ import annotations

from bot.support.report.data import Day, SupportReport
from bot.support.report.texts import escape as _e
from bot.support.report.texts import percent

BLUE, GREEN, ORANGE, GREY = "#2f6fb3", "#2e8b57", "#d9822b", "#c9d3dd"


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
        for offset, value, colour, what in ((-bar, d.conversations, BLUE, "conversations"),
                                            (0, d.messages, ORANGE, "messages")):
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
    parts.append(f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="{BLUE}"/>'
                 f'<text x="{left + 14}" y="{legend_y}" font-size="11">conversations</text>'
                 f'<rect x="{left + 110}" y="{legend_y - 9}" width="10" height="10" '
                 f'fill="{ORANGE}"/><text x="{left + 124}" y="{legend_y}" font-size="11">'
                 'messages</text></svg>')
    return "".join(parts)


def svg_hbars(rows: list[tuple[str, int]], colour: str = BLUE, width: int = 900,
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


def svg_containment(report: SupportReport, width: int = 900) -> str:
    """One stacked bar: handled by the bot alone, declined only, handed over, no question."""
    total = report.conversations
    if not total:
        return ""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
             f'viewBox="0 0 {width} 56" aria-label="Containment">']
    x = 10.0
    legend = []
    for count, colour, what in ((report.handled, GREEN, "handled without a person"),
                                (report.declined_only, ORANGE, "declined only"),
                                (report.handed_over, BLUE, "asked for a person"),
                                (report.no_question, GREY, "no question")):
        w = (width - 20) * count / total
        parts.append(f'<rect x="{x:.1f}" y="6" width="{w:.1f}" height="24" fill="{colour}">'
                     f'<title>{what}: {count}</title></rect>')
        legend.append(f"{what}: {count}")
        x += w
    parts.append(f'<text x="10" y="48" font-size="12">{_e(" · ".join(legend))} (containment '
                 f'{percent(report.containment)})</text></svg>')
    return "".join(parts)
