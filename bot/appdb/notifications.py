"""Subscriptions to declaration status changes, and the outbox of notifications (issue 14).

Exactly once, by construction in the database, whichever process records or sends:

1. A status change (a webhook event, or a poll answer) becomes one `notify_notifications` row
   per subscriber *before* anything is sent, unique per (subscription, change key): the key
   is the new status and the time of the change (`change_key`), so a retried webhook (same
   event id, kept in `customs_status_events`), a second poller or a second replica inserts
   nothing more (INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite; the
   subscriptions are read FOR UPDATE on PostgreSQL so two changes of one declaration are
   recorded one after the other), while a status seen again later is a new change. A change
   is news to a subscription when its status differs from the last one the person was told.
2. A sender claims a row with one conditional UPDATE (`pending` -> `sending`, with a lease):
   of two processes only one gets rowcount 1, the other skips it.
3. After the send: `sent`; a send that surely did not arrive goes back to `pending` with a
   doubled wait, up to the attempt limit (`failed`, logged); a send that may have arrived (a
   read timeout, or a process that died while `sending`) becomes `uncertain` and is never
   repeated: told at most once rather than twice.

No TPIN is stored: recipients are conversation ids, the reference is canonical.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bot.appdb.engine import session_scope
from bot.appdb.models import CustomsStatusEvent, NotifySubscription, StatusNotification
from bot.content.statuses import FINAL_STATUSES
from bot.settings.env import from_env
from bot.settings.notify import CLOCK_SKEW_ALLOWANCE, NotifySettings

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT = "pending", "sending", "sent"
FAILED, UNCERTAIN, CANCELLED = "failed", "uncertain", "cancelled"
STOPPED, FINAL, EXPIRED = "stopped", "final", "expired"
INBOX_LIMIT = 20  # notifications one widget request returns at most
CHANNELS = ("whatsapp", "telegram", "web")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def settings() -> NotifySettings:
    return from_env(NotifySettings)


def _open(now: datetime):
    return sa.and_(NotifySubscription.ended_at.is_(None), NotifySubscription.expires_at > now)


def _insert_ignore(session, table: sa.Table, values: dict) -> bool:
    """Insert unless a unique key is taken; True when this call inserted the row."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        result = session.execute(insert(table).values(**values).on_conflict_do_nothing())
        return result.rowcount == 1
    try:  # other databases: the unique constraint still decides, in a savepoint
        with session.begin_nested():
            session.execute(sa.insert(table).values(**values))
        return True
    except sa.exc.IntegrityError:
        return False


# --- subscriptions ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscribed:
    """What `subscribe` did: `created`, `renewed` (already subscribed) or `limit`."""

    outcome: str
    expires_at: datetime | None = None
    open_count: int = 0
    queued: tuple[int, ...] = ()  # notifications of changes the offer had not shown yet


def subscribe(channel: str, recipient: str, reference: str, status: str,
              last_changed: datetime | None, consent_text: str,
              config: NotifySettings | None = None, now: datetime | None = None) -> Subscribed:
    """Record the person's opt-in for `reference`, told `status` just now."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown notification channel {channel!r}")
    config = config or settings()
    now = now or now_utc()
    expires = now + timedelta(days=config.days)
    with session_scope() as session:
        mine = session.execute(sa.select(NotifySubscription).where(
            NotifySubscription.recipient == recipient, _open(now))).scalars().all()
        same = [s for s in mine if s.reference == reference]
        if same:
            sub, outcome, count = same[0], "renewed", len(mine)
            sub.last_status, sub.last_changed = status, last_changed
            sub.consent_at, sub.consent_text, sub.last_inbound_at = now, consent_text, now
            sub.expires_at, sub.channel = expires, channel
        elif len(mine) >= config.max_per_person:
            return Subscribed("limit", None, len(mine))
        else:
            sub, outcome, count = NotifySubscription(
                created_at=now, channel=channel, recipient=recipient[:255], reference=reference,
                last_status=status, last_changed=last_changed, consent_at=now,
                consent_text=consent_text, last_inbound_at=now, expires_at=expires), \
                "created", len(mine) + 1
            session.add(sub)
        session.flush()
        queued = _catch_up(session, sub, now)
    return Subscribed(outcome, expires, count, queued)


def _catch_up(session, sub: NotifySubscription, now: datetime) -> tuple[int, ...]:
    """A change pushed between the lookup and the opt-in (the offer showed the status before
    it): queued for this subscription at once."""
    latest = session.execute(sa.select(CustomsStatusEvent).where(
        CustomsStatusEvent.reference == sub.reference,
        # not one from the future (recorded before the webhook refused such times)
        CustomsStatusEvent.changed_at <= now + CLOCK_SKEW_ALLOWANCE).order_by(
        CustomsStatusEvent.changed_at.desc(), CustomsStatusEvent.id.desc()).limit(1)
    ).scalars().first()
    if latest is None or not _is_news(sub, latest.status, aware(latest.changed_at), now):
        return ()
    key = _queue(session, sub, latest.status, aware(latest.changed_at), "webhook", now)
    return tuple(_ids(session, [(sub.id, key)] if key else []))


def stop(recipient: str, now: datetime | None = None) -> int:
    """End every open subscription of `recipient` (one WhatsApp number, Telegram chat or
    widget conversation, whichever conversation made them) and cancel what was not sent."""
    now = now or now_utc()
    with session_scope() as session:
        ended = session.execute(sa.update(NotifySubscription).where(
            NotifySubscription.recipient == recipient, _open(now)
        ).values(ended_at=now, end_reason=STOPPED, last_inbound_at=now)).rowcount
        session.execute(sa.update(StatusNotification).where(
            StatusNotification.recipient == recipient, StatusNotification.state == PENDING
        ).values(state=CANCELLED, last_error="stopped by the person"))
    return int(ended or 0)


def touch(recipient: str, now: datetime | None = None) -> None:
    """The person wrote to us now (WhatsApp's 24-hour window for free text restarts)."""
    now = now or now_utc()
    with session_scope() as session:
        session.execute(sa.update(NotifySubscription).where(
            NotifySubscription.recipient == recipient, _open(now)
        ).values(last_inbound_at=now))


def open_subscriptions(now: datetime | None = None) -> list[NotifySubscription]:
    now = now or now_utc()
    with session_scope() as session:
        return list(session.execute(sa.select(NotifySubscription).where(_open(now))
                                    .order_by(NotifySubscription.id)).scalars())


def open_references(now: datetime | None = None) -> list[str]:
    now = now or now_utc()
    with session_scope() as session:
        return sorted(session.execute(sa.select(NotifySubscription.reference).where(_open(now))
                                      .distinct()).scalars())


def claim_poll(reference: str, interval_seconds: float, now: datetime | None = None) -> bool:
    """Whether this poller may ask about `reference` now (at most once per interval, across
    pollers: the conditional UPDATE lets one of two concurrent pollers through)."""
    now = now or now_utc()
    # 5 % slack, so a cron job every `interval` is not skipped for a few milliseconds.
    before = now - timedelta(seconds=interval_seconds * 0.95)
    with session_scope() as session:
        claimed = session.execute(sa.update(NotifySubscription).where(
            NotifySubscription.reference == reference, _open(now),
            sa.or_(NotifySubscription.last_polled_at.is_(None),
                   NotifySubscription.last_polled_at <= before),
        ).values(last_polled_at=now)).rowcount
    return bool(claimed)


# --- recording changes ------------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    duplicate: bool = False
    subscribers: int = 0
    notifications: tuple[int, ...] = ()


def change_key(status: str, changed_at: datetime | None, sub: NotifySubscription,
               unbelieved: datetime | None = None) -> str:
    """What identifies one change for one subscription, the same in every process that sees
    it: the new status and when it changed (UTC); without a time, the status it follows. A
    time from the future (`unbelieved`) is not told and orders nothing, so the status it
    follows and that one's time come back in a cycle (query, paid, query, paid): the time
    given tells the changes apart (the fourth was taken for the second)."""
    if changed_at is not None:
        return f"{status}@{aware(changed_at).astimezone(timezone.utc).isoformat()}"
    if unbelieved is not None:
        given = aware(unbelieved).astimezone(timezone.utc).isoformat()
        return f"{status}@given:{given}@after:{sub.last_status}"[:160]
    told = aware(sub.last_changed)
    return f"{status}@after:{sub.last_status}@{told.isoformat() if told else '-'}"[:160]


def _queue(session, sub: NotifySubscription, status: str, changed_at: datetime | None,
           source: str, now: datetime, unbelieved: datetime | None = None) -> str | None:
    """Record one change as a pending notification for `sub` (unless that change is already
    recorded) and make it the last status told; the change key when this call inserted it.
    Its time (or now, without one) is the last change's time, which later events are compared
    with; not a time from the future (`unbelieved`, told without it): that orders nothing."""
    key = change_key(status, changed_at, sub, unbelieved)
    values = {"subscription_id": sub.id, "channel": sub.channel, "recipient": sub.recipient,
              "reference": sub.reference, "status": status, "changed_at": changed_at,
              "change_key": key, "source": source, "created_at": now, "state": PENDING,
              "attempts": 0, "next_attempt_at": now}
    inserted = _insert_ignore(session, StatusNotification.__table__, values)
    sub.last_status = status
    if unbelieved is None:
        sub.last_changed = changed_at or now
    if status in FINAL_STATUSES:
        sub.ended_at, sub.end_reason = now, FINAL
    return key if inserted else None


def _ids(session, keys: list[tuple[int, str]]) -> list[int]:
    if not keys:
        return []
    session.flush()
    return sorted(session.execute(sa.select(StatusNotification.id).where(sa.or_(*[
        sa.and_(StatusNotification.subscription_id == sub_id,
                StatusNotification.change_key == key) for sub_id, key in keys]))).scalars())


def _is_news(sub: NotifySubscription, status: str, changed_at: datetime | None,
             now: datetime) -> bool:
    if sub.last_status == status:
        return False
    known = aware(sub.last_changed)
    if known is not None and known > now + CLOCK_SKEW_ALLOWANCE:
        # A time from the future (a customs clock error, recorded before the webhook refused
        # such times, or a status lookup's) orders nothing, or it would block every real change.
        known = None
    # An event older than what the person was told arrived late: not news.
    return not (changed_at is not None and known is not None and changed_at <= known)


def record_change(reference: str, status: str, changed_at: datetime | None, source: str,
                  event_id: str | None = None, now: datetime | None = None) -> Recorded:
    """Record a status change of `reference`: one pending notification per subscriber not yet
    told. Idempotent by `event_id` and by (subscription, change key). A time from the future
    (a status lookup's clock error; the webhook refuses them) is not the change's time: the
    person would be told of a change dated 2999. It is told without one (as of when it is
    sent), and orders nothing: a later event with a real time is still news."""
    now = now or now_utc()
    given = changed_at
    untimed = changed_at is not None and aware(changed_at) > now + CLOCK_SKEW_ALLOWANCE
    if untimed:
        changed_at = None
    with session_scope() as session:
        if event_id is not None and not _insert_ignore(session, CustomsStatusEvent.__table__, {
                "event_id": event_id, "reference": reference, "status": status,
                "changed_at": changed_at or now, "received_at": now}):
            return Recorded(duplicate=True)
        subs = session.execute(sa.select(NotifySubscription).where(
            NotifySubscription.reference == reference, _open(now)
        ).order_by(NotifySubscription.id).with_for_update()).scalars().all()
        created = []
        for sub in subs:
            if not _is_news(sub, status, changed_at, now):
                continue
            key = _queue(session, sub, status, changed_at, source, now,
                         given if untimed else None)
            if key is not None:
                created.append((sub.id, key))
        ids = _ids(session, created)
    if untimed and ids:  # once per change told, not at every poll of a clock that is wrong
        logger.warning("the %s of %s gave a change time in the future (%s): told without it",
                       source, reference, aware(given).isoformat())
    return Recorded(subscribers=len(subs), notifications=tuple(ids))


# --- sending ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    """A claimed notification, with what a sender needs to know about its subscription."""

    id: int
    claim: str
    channel: str
    recipient: str
    reference: str
    status: str
    changed_at: datetime | None
    attempts: int
    last_inbound_at: datetime


def _of(channels: Iterable[str] | None):
    return sa.true() if channels is None else StatusNotification.channel.in_(tuple(channels))


def due(now: datetime | None = None, limit: int = 100,
        channels: Iterable[str] | None = None) -> list[int]:
    """Pending notifications whose time has come, oldest first (of `channels` only, when
    given: a process leaves the rows of channels it cannot send to for one that can)."""
    now = now or now_utc()
    with session_scope() as session:
        return list(session.execute(sa.select(StatusNotification.id).where(
            StatusNotification.state == PENDING, StatusNotification.next_attempt_at <= now,
            _of(channels),
        ).order_by(StatusNotification.id).limit(limit)).scalars())


def claim(notification_id: int, config: NotifySettings | None = None,
          now: datetime | None = None,
          channels: Iterable[str] | None = None) -> Outgoing | None:
    """Take one pending notification for sending; None when another process has it, or when
    its channel is not one of `channels` (given: the channels this process can send to)."""
    config = config or settings()
    now = now or now_utc()
    token = secrets.token_hex(8)
    with session_scope() as session:
        taken = session.execute(sa.update(StatusNotification).where(
            StatusNotification.id == notification_id, StatusNotification.state == PENDING,
            StatusNotification.next_attempt_at <= now, _of(channels),
        ).values(state=SENDING, claim=token, attempts=StatusNotification.attempts + 1,
                 lease_until=now + timedelta(seconds=config.lease_seconds))).rowcount
        if taken != 1:
            return None
        row = session.execute(sa.select(StatusNotification, NotifySubscription.last_inbound_at)
                              .join(NotifySubscription,
                                    NotifySubscription.id == StatusNotification.subscription_id)
                              .where(StatusNotification.id == notification_id)).first()
    note, inbound = row
    return Outgoing(note.id, token, note.channel, note.recipient, note.reference, note.status,
                    aware(note.changed_at), note.attempts, aware(inbound))


def finish(item: Outgoing, outcome: str, *, via: str | None = None, text: str | None = None,
           error: str | None = None, config: NotifySettings | None = None,
           now: datetime | None = None) -> str:
    """Record a send's outcome (`sent`, `failed` or `uncertain`); the row's new state."""
    config = config or settings()
    now = now or now_utc()
    values: dict = {"lease_until": None, "last_error": (error or None) and error[:200]}
    if outcome == SENT:
        values.update(state=SENT, sent_at=now, via=via, text=text)
    elif outcome == UNCERTAIN:
        values.update(state=UNCERTAIN)
        logger.error("notification %s may or may not have reached %s; not sent again",
                     item.id, item.channel)
    elif item.attempts >= config.max_attempts:
        values.update(state=FAILED)
        logger.error("notification %s to %s given up after %d attempts (%s)", item.id,
                     item.channel, item.attempts, error)
    else:
        wait = min(config.retry_max_seconds, config.retry_seconds * 2 ** (item.attempts - 1))
        values.update(state=PENDING, claim=None, next_attempt_at=now + timedelta(seconds=wait))
        logger.warning("notification %s to %s not sent (%s); retry in %.0f s", item.id,
                       item.channel, error, wait)
    with session_scope() as session:
        session.execute(sa.update(StatusNotification).where(
            StatusNotification.id == item.id, StatusNotification.claim == item.claim,
            StatusNotification.state == SENDING).values(**values))
    return values["state"]


def sweep(now: datetime | None = None) -> tuple[int, int]:
    """Sends interrupted past their lease become `uncertain` (they may have gone out: not
    repeated); subscriptions past their time end as `expired`. Both counts."""
    now = now or now_utc()
    with session_scope() as session:
        interrupted = session.execute(sa.update(StatusNotification).where(
            StatusNotification.state == SENDING, StatusNotification.lease_until < now
        ).values(state=UNCERTAIN, last_error="the sending process stopped mid-send")).rowcount
        expired = session.execute(sa.update(NotifySubscription).where(
            NotifySubscription.ended_at.is_(None), NotifySubscription.expires_at <= now
        ).values(ended_at=now, end_reason=EXPIRED)).rowcount
    if interrupted:
        logger.error("%d notification(s) interrupted mid-send; marked uncertain", interrupted)
    return int(interrupted or 0), int(expired or 0)


# --- reading ----------------------------------------------------------------------------------

def inbox(recipient: str, after: int = 0, limit: int = INBOX_LIMIT,
          now: datetime | None = None, days: int | None = None) -> list[dict]:
    """The web widget's notifications for one conversation, after id `after`, oldest first."""
    now = now or now_utc()
    since = now - timedelta(days=days or settings().days)
    with session_scope() as session:
        rows = session.execute(sa.select(
            StatusNotification.id, StatusNotification.text, StatusNotification.sent_at
        ).where(
            StatusNotification.recipient == recipient, StatusNotification.channel == "web",
            StatusNotification.state == SENT, StatusNotification.id > after,
            StatusNotification.sent_at >= since,
        ).order_by(StatusNotification.id).limit(max(1, min(limit, INBOX_LIMIT)))).all()
    return [{"id": r.id, "text": r.text or "", "sent_at": aware(r.sent_at).isoformat()}
            for r in rows]


@dataclass(frozen=True)
class NotifyCounts:
    """For the support unit's report: what happened in a period."""

    subscriptions: int = 0
    sent: int = 0
    failed: int = 0
    stopped: int = 0


def counts(since: datetime, until: datetime) -> NotifyCounts:
    """Subscriptions made, notifications sent, failed (given up or uncertain), stopped."""
    def between(column):
        return sa.and_(column >= since, column < until)

    n = StatusNotification
    with session_scope() as session:
        def count(query) -> int:
            return int(session.execute(query).scalar_one())

        return NotifyCounts(
            subscriptions=count(sa.select(sa.func.count(NotifySubscription.id))
                                .where(between(NotifySubscription.created_at))),
            sent=count(sa.select(sa.func.count(n.id)).where(n.state == SENT,
                                                              between(n.sent_at))),
            failed=count(sa.select(sa.func.count(n.id)).where(
                n.state.in_((FAILED, UNCERTAIN)), between(n.created_at))),
            stopped=count(sa.select(sa.func.count(NotifySubscription.id)).where(
                NotifySubscription.end_reason == STOPPED,
                between(NotifySubscription.ended_at))),
        )


def mask_recipient(recipient: str) -> str:
    """A recipient for staff: only its last 4 characters (tests/notify runs these examples).

    >>> mask_recipient("whatsapp:260971234567")
    'whatsapp:********4567'
    >>> mask_recipient("web-0123456789abcdef")
    '****************cdef'
    >>> mask_recipient("telegram:12")
    'telegram:****'
    """
    channel, sep, native = recipient.rpartition(":")
    keep = native[-4:]
    return f"{channel}{sep}{'*' * max(2, len(native) - 4)}{keep}" if len(native) > 4 else \
        f"{channel}{sep}****"
