"""The outbox on SQLite and on the machine's PostgreSQL: each status change is told once per
subscription, whoever records or sends it, and a failed send is retried, never doubled."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bot.appdb import notifications as store
from bot.appdb.engine import session_scope
from bot.appdb.models import NotifySubscription, StatusNotification
from bot.notify.base import FAILED, UNCERTAIN
from bot.notify.outbox import Notifier
from tests.notify.conftest import REFERENCE, RecordingSender, subscribe

RELEASED_AT = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def states() -> list[str]:
    with session_scope() as session:
        return list(session.execute(sa.select(StatusNotification.state)
                                    .order_by(StatusNotification.id)).scalars())


def test_a_change_is_told_once_however_often_it_is_recorded(any_db) -> None:
    subscribe()
    first = store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    again = store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    by_poll = store.record_change(REFERENCE, "paid", RELEASED_AT, "poll")
    other_id = store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-2")
    assert len(first.notifications) == 1
    assert again.duplicate and not by_poll.notifications and not other_id.notifications
    sender = RecordingSender()
    notifier = Notifier([sender])
    assert notifier.deliver_due()["sent"] == 1
    assert notifier.deliver_due() == {}
    recipient, notice = sender.sent[0]
    assert recipient == "whatsapp:260971234567"
    assert notice.fields == {"reference": REFERENCE, "status": "paid",
                             "next": notice.fields["next"], "action": notice.fields["action"],
                             "date": "1 December 2026"}
    assert "stop notifications" in notice.text and "1 December 2026" in notice.text


def test_a_late_event_older_than_what_was_told_is_not_news(any_db) -> None:
    subscribe(changed=RELEASED_AT)
    late = store.record_change(REFERENCE, "registered", RELEASED_AT - timedelta(days=2),
                               "webhook", "evt-old")
    assert late.subscribers == 1 and not late.notifications


def test_a_time_from_the_future_stored_before_it_was_refused_blocks_nothing(
        any_db, monkeypatch) -> None:
    """Rows recorded before the webhook refused future times (bot/notify/events.py): the
    subscriber was told "1 January 2999", and that event is in the event log."""
    far = datetime(2999, 1, 1, 5, 0, tzinfo=timezone.utc)
    subscribe()
    with monkeypatch.context() as before_the_fix:  # future times were stored as they came
        before_the_fix.setattr(store, "CLOCK_SKEW_ALLOWANCE", timedelta(days=10**6))
        assert len(store.record_change(REFERENCE, "paid", far, "webhook", "evt-typo")
                   .notifications) == 1
    sender = RecordingSender()
    Notifier([sender]).deliver_due()
    real = datetime.now(timezone.utc) - timedelta(hours=1)
    later = store.record_change(REFERENCE, "query", real, "webhook", "evt-real")
    assert later.subscribers == 1 and len(later.notifications) == 1
    Notifier([sender]).deliver_due()
    assert len(sender.sent) == 2 and "query" in sender.sent[1][1].fields["status"]
    assert sender.sent[1][1].fields["date"] == f"{real.day} {real:%B %Y}"
    # A new subscriber is caught up on the latest real change, not on the one from 2999.
    caught_up = subscribe(recipient="whatsapp:260970000001", status="assessed",
                          changed=real - timedelta(days=1))
    assert len(caught_up.queued) == 1
    Notifier([sender]).deliver_due()
    assert len(sender.sent) == 3 and "query" in sender.sent[2][1].fields["status"]
    assert "2999" not in sender.sent[2][1].fields["date"]


def test_a_future_time_from_a_status_lookup_is_told_without_it_and_orders_nothing(
        any_db) -> None:
    """The poller's status API said a change happened in 2999: that date was told, and no
    real change after it could be news."""
    subscribe()
    far = datetime(2999, 1, 1, 5, 0, tzinfo=timezone.utc)
    assert len(store.record_change(REFERENCE, "paid", far, "poll").notifications) == 1
    sender = RecordingSender()
    Notifier([sender]).deliver_due()
    today = datetime.now(timezone.utc)
    assert sender.sent[0][1].fields["date"] == f"{today.day} {today:%B %Y}"
    real = today - timedelta(minutes=30)
    assert len(store.record_change(REFERENCE, "query", real, "poll").notifications) == 1


ZAMBIA = timezone(timedelta(hours=2))


def test_times_with_an_offset_compare_as_the_moments_they_are(any_db) -> None:
    """SQLite drops a time's offset: a +02:00 time read back as UTC was two hours ahead, so a
    fresh change was left out of a new subscriber's catch-up (it looked in the future) and an
    older one was taken for news after it."""
    now = datetime.now(timezone.utc)
    fresh = (now - timedelta(minutes=30)).astimezone(ZAMBIA)
    assert store.record_change(REFERENCE, "paid", fresh, "webhook", "evt-cat").subscribers == 0
    caught_up = subscribe(changed=now - timedelta(hours=3))
    assert len(caught_up.queued) == 1  # the change half an hour ago
    older = (now - timedelta(minutes=40)).astimezone(ZAMBIA)
    assert not store.record_change(REFERENCE, "query", older, "webhook", "evt-old").notifications
    with session_scope() as session:
        told = session.execute(sa.select(NotifySubscription.last_changed)).scalar_one()
    assert told == fresh and told.tzinfo is not None


def test_a_final_status_ends_the_subscription_but_is_still_told(any_db) -> None:
    subscribe()
    store.record_change(REFERENCE, "released", RELEASED_AT, "webhook", "evt-r")
    assert store.open_subscriptions() == []
    sender = RecordingSender()
    Notifier([sender]).deliver_due()
    assert [n.fields["status"] for _, n in sender.sent] == ["released"]
    assert not store.record_change(REFERENCE, "cancelled", RELEASED_AT + timedelta(hours=1),
                                   "webhook", "evt-c").notifications


def test_racing_recorders_and_senders_tell_each_subscriber_once(any_db) -> None:
    """Four threads (each its own connection) record the same change under different event
    ids and send, at once: 12 subscribers, 12 messages."""
    for n in range(12):
        subscribe(recipient=f"whatsapp:26097000{n:04d}")
    sender = RecordingSender()
    notifier = Notifier([sender])
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def replica(k: int) -> None:
        try:
            barrier.wait()
            recorded = store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", f"e{k}")
            notifier.deliver(recorded.notifications)
            notifier.deliver_due()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r for r, _ in sender.sent) == [f"whatsapp:26097000{n:04d}" for n in range(12)]
    assert states() == ["sent"] * 12


def test_a_failed_send_is_retried_with_back_off_then_given_up(any_db) -> None:
    subscribe()
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    config = replace(store.settings(), max_attempts=3, retry_seconds=60)
    sender = RecordingSender(outcomes=[FAILED, FAILED, FAILED])
    notifier = Notifier([sender], config)
    assert notifier.deliver_due() == {"pending": 1}
    assert notifier.deliver_due() == {}  # waiting: the first retry comes after 60 s
    with session_scope() as session:
        wait = session.execute(sa.select(StatusNotification.next_attempt_at)).scalar_one()
    assert 55 < (store.aware(wait) - store.now_utc()).total_seconds() <= 60
    soon = store.now_utc() + timedelta(seconds=61)
    assert notifier.deliver([store.due(soon)[0]]) == {}  # not due yet for a real clock
    for minutes in (2, 10):
        now = store.now_utc() + timedelta(minutes=minutes)
        item = store.claim(store.due(now)[0], config, now)
        delivery = sender.send(item.recipient, None, item.last_inbound_at)
        store.finish(item, delivery.outcome, error=delivery.error, config=config, now=now)
    assert states() == ["failed"] and sender.sent == []


def test_failed_then_sent_is_sent_once(any_db) -> None:
    subscribe()
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    config = replace(store.settings(), retry_seconds=0)
    sender = RecordingSender(outcomes=[FAILED])
    notifier = Notifier([sender], config)
    notifier.deliver_due()
    notifier.deliver_due()
    notifier.deliver_due()
    assert len(sender.sent) == 1 and states() == ["sent"]


def test_a_send_that_may_have_arrived_is_never_repeated(any_db) -> None:
    subscribe()
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    notifier = Notifier([RecordingSender(outcomes=[UNCERTAIN])])
    notifier.deliver_due()
    assert notifier.deliver_due() == {} and states() == ["uncertain"]


def test_a_process_that_died_mid_send_leaves_the_row_uncertain_not_resent(any_db) -> None:
    subscribe()
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    item = store.claim(store.due()[0])  # ... and the process dies here
    assert item is not None and store.claim(item.id) is None
    assert store.sweep() == (0, 0)  # within its lease: another process leaves it alone
    sender = RecordingSender()
    Notifier([sender]).deliver_due(store.now_utc() + timedelta(minutes=5))
    assert sender.sent == [] and states() == ["uncertain"]


def test_a_crash_after_recording_and_before_sending_loses_nothing(any_db) -> None:
    subscribe()
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")  # then a crash
    sender = RecordingSender()
    Notifier([sender]).deliver_due()  # any replica's retry round, or the poller
    assert len(sender.sent) == 1


def test_stop_ends_subscriptions_and_cancels_what_was_not_sent(any_db) -> None:
    subscribe()
    subscribe(reference="2026 KZL C 3310")
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    assert store.stop("whatsapp:260971234567") == 2
    sender = RecordingSender()
    Notifier([sender]).deliver_due()
    assert sender.sent == [] and states() == ["cancelled"]
    assert not store.record_change(REFERENCE, "released", RELEASED_AT, "webhook",
                                   "evt-2").notifications
    assert store.stop("whatsapp:260971234567") == 0


def test_limits_per_person_renewal_and_expiry(any_db) -> None:
    config = replace(store.settings(), max_per_person=2, days=30)
    assert subscribe(reference="2026 LSK C 1", config=config).outcome == "created"
    assert subscribe(reference="2026 LSK C 1", config=config).outcome == "renewed"
    assert subscribe(reference="2026 LSK C 2", config=config).outcome == "created"
    assert subscribe(reference="2026 LSK C 3", config=config).outcome == "limit"
    assert subscribe(recipient="telegram:42", channel="telegram", reference="2026 LSK C 3",
                     config=config).outcome == "created"
    in_31_days = store.now_utc() + timedelta(days=31)
    assert store.open_subscriptions(in_31_days) == []
    assert store.sweep(in_31_days) == (0, 3)
    with session_scope() as session:
        reasons = set(session.execute(sa.select(NotifySubscription.end_reason)).scalars())
    assert reasons == {"expired"}


def test_no_tpin_is_stored_anywhere(any_db) -> None:
    subscribe()
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    Notifier([RecordingSender()]).deliver_due()
    with session_scope() as session:
        rows = [*session.execute(sa.select(NotifySubscription)).scalars(),
                *session.execute(sa.select(StatusNotification)).scalars()]
    values = " ".join(str(v) for row in rows for v in vars(row).values())
    assert "1002003004" not in values


def test_the_widget_inbox_shows_only_its_own_web_notifications(any_db) -> None:
    subscribe(recipient="web-aaaa", channel="web")
    subscribe(recipient="web-bbbb", channel="web")
    subscribe(recipient="whatsapp:260971234567")
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    notifier = Notifier.from_env()
    notifier.senders["whatsapp"] = RecordingSender()
    notifier.deliver_due()
    mine = store.inbox("web-aaaa")
    first_lines = [n["text"].splitlines()[0] for n in mine]
    assert first_lines == [f"Update on declaration {REFERENCE}: paid."]
    assert store.inbox("web-aaaa", after=mine[0]["id"]) == []
    assert store.inbox("whatsapp:260971234567") == []
    assert len(store.inbox("web-bbbb")) == 1


def test_recipients_are_masked_for_staff() -> None:
    assert store.mask_recipient("whatsapp:260971234567") == "whatsapp:********4567"
    assert store.mask_recipient("telegram:12") == "telegram:****"
    assert store.mask_recipient("web-0123456789abcdef").endswith("cdef")
    assert "0123456789ab" not in store.mask_recipient("web-0123456789abcdef")


def test_report_counts(any_db) -> None:
    subscribe()
    subscribe(recipient="whatsapp:260970000001")
    store.record_change(REFERENCE, "paid", RELEASED_AT, "webhook", "evt-1")
    config = replace(store.settings(), max_attempts=1)
    Notifier([RecordingSender(outcomes=["sent", FAILED])], config).deliver_due()
    store.stop("whatsapp:260971234567")
    day = timedelta(days=1)
    got = store.counts(store.now_utc() - day, store.now_utc() + day)
    assert got == store.NotifyCounts(subscriptions=2, sent=1, failed=1, stopped=1)


def test_the_report_shows_the_notification_figures() -> None:
    import datetime as dt

    from bot.support.report import SupportReport, to_html, to_markdown

    report = SupportReport(since=dt.date(2026, 11, 25), until=dt.date(2026, 12, 1), days=[],
                           conversations=0, messages=0, handed_over=0, tickets=0,
                           unanswered=[], asked=[], votes=[],
                           notifications={"subscriptions": 7, "sent": 5, "failed": 1,
                                          "stopped": 2})
    md = to_markdown(report)
    assert "## Status notifications" in md and "| Notifications sent | 5 |" in md
    assert "| Subscriptions stopped (\u201cstop notifications\u201d) | 2 |" in md
    assert "Notifications failed" in to_html(report)
    down = to_markdown(SupportReport(**{**vars(report), "notifications": None,
                                        "notifications_note": "unavailable: db down"}))
    assert "unavailable: db down" in down
