"""Staff commands for hand-over tickets: list, show, export to CSV, close.

    python -m bot tickets list [--status open] [--limit 50]
    python -m bot tickets show HT-2026-00042
    python -m bot tickets export tickets.csv [--since 2026-11-01]
    python -m bot tickets close HT-2026-00042
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path

from bot.support.arguments import count
from bot.support.days import day_start

CSV_FIELDS = ("number", "created_at", "status", "name", "contact", "contact_kind", "question",
              "conversation_id", "webhook_status", "transcript")


def _when(value: dt.datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def cmd_list(args: argparse.Namespace) -> int:
    from bot.appdb.tickets import list_tickets

    tickets = list_tickets(status=args.status, limit=args.limit)
    if not tickets:
        print("No tickets." if not args.status else f"No {args.status} tickets.")
        return 0
    print(f"{'Ticket':<14} {'Created':<16} {'Status':<7} {'Name':<20} {'Contact':<26} "
          f"{'Helpdesk':<10} Question")
    for t in tickets:
        print(f"{t.number:<14} {_when(t.created_at):<16} {t.status:<7} {_short(t.name, 20):<20} "
              f"{_short(t.contact, 26):<26} {_short(t.webhook_status or '-', 10):<10} "
              f"{_short(t.question, 60)}")
    print(f"{len(tickets)} ticket(s). `python -m bot tickets show <number>` shows one in full.")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from bot.appdb.tickets import get_ticket

    t = get_ticket(args.number)
    if t is None:
        print(f"No ticket {args.number}.")
        return 1
    print(f"Ticket {t.number} ({t.status}), created {_when(t.created_at)}")
    print(f"Name:      {t.name}")
    print(f"Contact:   {t.contact} ({t.contact_kind})")
    print(f"Question:  {t.question}")
    print(f"Conversation id: {t.conversation_id}")
    print(f"Helpdesk webhook: {t.webhook_status or 'not configured'}")
    print("\nTranscript (TPINs masked):")
    print(t.transcript or "(empty)")
    return 0


_FREE_TEXT = {"name", "question", "transcript"}


def _cell(field: str, value: object) -> object:
    """Free text starting like a formula is prefixed with ' so spreadsheets show it as text."""
    if value is None:
        return ""
    if field in _FREE_TEXT and isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def export_csv(path: Path | None, since: dt.date | None = None) -> int:
    """Write tickets (oldest first) as CSV to `path` or stdout; return how many."""
    from bot.appdb.tickets import list_tickets

    tickets = list(reversed(list_tickets(since=day_start(since) if since else None)))
    out = open(path, "w", newline="", encoding="utf-8") if path else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        for t in tickets:
            row = t.as_json()
            writer.writerow([_cell(f, row[f]) for f in CSV_FIELDS])
    finally:
        if path:
            out.close()
    return len(tickets)


def cmd_export(args: argparse.Namespace) -> int:
    path = None if args.file in (None, "-") else Path(args.file)
    try:
        count = export_csv(path, args.since)
    except OSError as error:
        print(f"Cannot write {path}: {error.strerror or error}")
        return 1
    if path:
        print(f"{count} ticket(s) written to {path}.")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    from bot.appdb.tickets import set_status

    if not set_status(args.number, "closed"):
        print(f"No ticket {args.number}.")
        return 1
    print(f"Ticket {args.number.upper()} closed.")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `tickets` and its own subcommands on the main CLI."""
    p = sub.add_parser("tickets", help="list, show, export (CSV) or close hand-over tickets")
    tsub = p.add_subparsers(dest="tickets_command", required=True)
    q = tsub.add_parser("list", help="newest first")
    q.add_argument("--status", choices=["open", "closed"])
    q.add_argument("--limit", type=count, default=50)
    q.set_defaults(func=cmd_list)
    q = tsub.add_parser("show", help="one ticket with its transcript")
    q.add_argument("number")
    q.set_defaults(func=cmd_show)
    q = tsub.add_parser("export", help="CSV (oldest first) to a file, or - for the screen")
    q.add_argument("file", nargs="?", default="-")
    q.add_argument("--since", type=dt.date.fromisoformat, help="YYYY-MM-DD")
    q.set_defaults(func=cmd_export)
    q = tsub.add_parser("close", help="mark a ticket as dealt with")
    q.add_argument("number")
    q.set_defaults(func=cmd_close)
