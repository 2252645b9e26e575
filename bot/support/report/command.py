"""`python -m bot report`: read the store for a period, write both files, say where they are."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from bot.support.days import day_range
from bot.support.events import tracker_engine
from bot.support.report.data import SupportReport, build_report, period
from bot.support.report.html import to_html
from bot.support.report.markdown import to_markdown
from bot.support.report.texts import percent


def write_report(report: SupportReport, out_dir: Path) -> tuple[Path, Path]:
    """Write the Markdown and HTML files; return their paths."""
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

    try:
        first, last = period(days, since, until)
    except ValueError as error:
        print(error)
        return 1
    kb = get_knowledge()
    votes, note = None, ""
    try:
        from bot.appdb.votes import vote_counts

        votes = vote_counts(*day_range(first, last))
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
    try:
        from dataclasses import asdict

        from bot.appdb.notifications import counts

        report.notifications = asdict(counts(*day_range(first, last)))
    except Exception as error:  # the application database may be down
        report.notifications_note = ("Status notifications unavailable: the application "
                                     f"database could not be read ({type(error).__name__}).")
    md, page = write_report(report, out_dir or var_dir() / "reports")
    print(f"Support report {first} to {last}: {report.conversations} conversation(s), "
          f"{report.messages} message(s), containment {percent(report.containment)}, "
          f"{report.unanswered_messages} unanswered question(s) in "
          f"{len(report.unanswered)} group(s).")
    print(f"  Markdown: {md}")
    print(f"  Web page: {page}  (open it in a browser)")
    return 0
