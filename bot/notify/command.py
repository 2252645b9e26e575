"""`python -m bot notify poll [--every 5m]` and `python -m bot notify list`."""

from __future__ import annotations

import argparse


def _poll(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from bot.appdb import notifications as store
    from bot.notify import poller
    from bot.settings.errors import ConfigError

    try:
        interval = poller.parse_interval(args.every) if args.every else \
            store.settings().poll_seconds
        if args.every:
            print(f"Polling every {args.every}; Ctrl-C stops.", flush=True)
            poller.poll_forever(interval)
        else:
            print(poller.poll_once(interval).summary())
    except (ValueError, ConfigError) as error:
        print(error)
        return 1
    except sa.exc.SQLAlchemyError as error:
        print(f"The application database is unavailable ({type(error).__name__}); "
              "run `python -m bot db init` or check CUSTOMS_DB_URL.")
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _list(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from bot.appdb import notifications as store

    try:
        subs = store.open_subscriptions()
    except sa.exc.SQLAlchemyError as error:
        print(f"The application database is unavailable ({type(error).__name__}).")
        return 1
    if not subs:
        print("No open subscriptions.")
        return 0
    rows = [("Reference", "Channel", "Recipient", "Last status", "Since", "Until")]
    rows += [(s.reference, s.channel, store.mask_recipient(s.recipient), s.last_status,
              f"{store.aware(s.created_at):%Y-%m-%d}", f"{store.aware(s.expires_at):%Y-%m-%d}")
             for s in subs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"{len(subs)} open subscription(s).")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notify", help="declaration status notifications: poll, list")
    actions = p.add_subparsers(dest="notify_command", required=True)
    poll = actions.add_parser("poll", help="ask the status backend about open subscriptions "
                              "and send what changed (once; --every to repeat)")
    poll.add_argument("--every", help="keep polling at this interval, e.g. 5m, 30s, 1h")
    poll.set_defaults(func=_poll)
    actions.add_parser("list", help="open subscriptions (recipients masked)") \
        .set_defaults(func=_list)
