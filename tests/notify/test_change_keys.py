"""What one change is, on SQLite and PostgreSQL: a status seen again later is told again, the
same change recorded twice (retried webhook, two pollers racing) is told once, a change
pushed between the lookup and the opt-in is queued, `db init` upgrades a first-version
outbox, and a process leaves rows of channels it cannot send to."""

from __future__ import annotations

import doctest
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.appdb import notifications as store
from bot.appdb.engine import get_engine, session_scope
from bot.appdb.models import NotifySubscription, StatusNotification
from bot.notify.outbox import Notifier
from tests.notify.conftest import REFERENCE, RecordingSender, subscribe

T0 = datetime(2026, 11, 26, 9, 40, tzinfo=timezone.utc)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def told(sender: RecordingSender) -> list[str]:
    """The statuses told, from their wording."""
    from bot.content.statuses import load_status_texts

    label = {" ".join(w["label"].split()): s for s, w in load_status_texts().statuses.items()}
    return [label[notice.fields["status"]] for _, notice in sender.sent]


def test_a_status_seen_again_later_is_told_again(any_db) -> None:
    subscribe(status="assessed", changed=T0)
    sender = RecordingSender()
    notifier = Notifier([sender])
    for n, status in enumerate(["query", "assessed", "query", "assessed"], start=1):
        recorded = store.record_change(REFERENCE, status, at(n), "webhook", f"evt-{n}")
        assert len(recorded.notifications) == 1, status
        # the same event retried, the same change from the poller: nothing more
        assert store.record_change(REFERENCE, status, at(n), "webhook", f"evt-{n}").duplicate
        assert not store.record_change(REFERENCE, status, at(n), "poll").notifications
        notifier.deliver_due()
    assert told(sender) == ["query", "assessed", "query", "assessed"]


def test_a_status_seen_again_is_told_again_when_the_lookup_clock_is_fast(any_db,
                                                                          caplog) -> None:
    """A status API two hours fast: each change is told without its time, and a status that
    comes back (query, paid, query, paid) is told each time; the wrong clock is logged once
    per change told, not at every poll that finds nothing new."""
    subscribe(status="assessed", changed=T0)
    sender = RecordingSender()
    notifier = Notifier([sender])
    fast = timedelta(hours=2)
    for status in ["query", "paid", "query", "paid"]:
        ahead = datetime.now(timezone.utc) + fast
        caplog.clear()
        assert len(store.record_change(REFERENCE, status, ahead, "poll").notifications) == 1
        assert sum("in the future" in r.getMessage() for r in caplog.records) == 1
        caplog.clear()
        assert not store.record_change(REFERENCE, status, ahead, "poll").notifications
        assert not any("in the future" in r.getMessage() for r in caplog.records)
        notifier.deliver_due()
    assert told(sender) == ["query", "paid", "query", "paid"]


@pytest.mark.parametrize("when", ["timed", "untimed", "future"])
def test_two_pollers_racing_on_one_change_record_one_row(any_db, when: str) -> None:
    """No event id: the key comes from the change itself, so the unique index decides even
    when both pollers read the subscription before either wrote (with no time: the status it
    follows; with one from the future: that time too)."""
    subscribe(status="assessed", changed=T0)
    store.record_change(REFERENCE, "paid", at(1), "webhook", "evt-paid")
    changed = {"timed": at(2), "untimed": None,
               "future": datetime.now(timezone.utc) + timedelta(days=1)}[when]
    barrier = threading.Barrier(2)
    results: list[store.Recorded] = []
    errors: list[BaseException] = []

    def poller() -> None:
        try:
            barrier.wait()
            results.append(store.record_change(REFERENCE, "query", changed, "poll"))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(len(r.notifications) for r in results) == 1
    with session_scope() as session:
        assert session.execute(sa.select(sa.func.count(StatusNotification.id))).scalar_one() == 2
    (sub,) = store.open_subscriptions()
    assert sub.last_status == "query"
    # the same pair of keys again, from two processes with nothing to race: no new row
    assert store.change_key("query", at(1), sub) == store.change_key("query", at(1), sub)


def test_a_change_pushed_before_the_opt_in_is_queued_at_once(any_db) -> None:
    store.record_change(REFERENCE, "paid", at(2), "webhook", "evt-paid")  # nobody subscribed
    result = subscribe(status="assessed", changed=T0)  # the offer still said assessed
    assert result.outcome == "created" and len(result.queued) == 1
    (sub,) = store.open_subscriptions()
    assert sub.last_status == "paid"
    sender = RecordingSender()
    Notifier([sender]).deliver_due()
    assert told(sender) == ["paid"]
    # an older or already-told event is not queued again
    assert subscribe(status="paid", changed=at(2)).queued == ()
    assert not subscribe(recipient="whatsapp:260970000009", status="paid",
                         changed=at(3)).queued


def test_a_pushed_final_status_before_the_opt_in_is_told_and_ends_it(any_db) -> None:
    store.record_change(REFERENCE, "released", at(2), "webhook", "evt-released")
    assert len(subscribe(status="assessed", changed=T0).queued) == 1
    assert store.open_subscriptions() == []
    sender = RecordingSender()
    Notifier([sender]).deliver_due()
    assert told(sender) == ["released"]


def test_a_process_without_a_sender_for_a_channel_leaves_its_rows(any_db) -> None:
    subscribe()  # WhatsApp
    subscribe(recipient="telegram:42", channel="telegram")
    store.record_change(REFERENCE, "paid", at(1), "webhook", "evt-1")
    telegram_only = RecordingSender("telegram")
    assert Notifier([telegram_only]).deliver_due() == {"sent": 1}
    ids = store.due()
    assert Notifier([RecordingSender("telegram")]).deliver(ids) == {}  # not claimed either
    with session_scope() as session:
        row = session.execute(sa.select(StatusNotification).where(
            StatusNotification.channel == "whatsapp")).scalar_one()
    assert (row.state, row.attempts) == ("pending", 0)
    whatsapp = RecordingSender("whatsapp")
    assert Notifier([whatsapp]).deliver_due() == {"sent": 1}
    assert told(whatsapp) == ["paid"]


def _make_first_version_outbox() -> None:
    """The outbox as the first version created it: unique (subscription_id, status)."""
    metadata = sa.MetaData()
    NotifySubscription.__table__.to_metadata(metadata)
    columns = [c._copy() for c in StatusNotification.__table__.columns if c.name != "change_key"]
    old = sa.Table(StatusNotification.__tablename__, metadata, *columns,
                   sa.UniqueConstraint("subscription_id", "status"))
    with get_engine().begin() as conn:
        StatusNotification.__table__.drop(conn)
        old.create(conn)


def test_db_init_upgrades_a_first_version_outbox(any_db) -> None:
    from bot import appdb

    _make_first_version_outbox()
    subscribe(status="assessed", changed=T0)
    with session_scope() as session:  # a row the first version wrote
        (sub,) = session.execute(sa.select(NotifySubscription)).scalars()
        session.execute(sa.text(
            "INSERT INTO notify_notifications (subscription_id, channel, recipient, reference, "
            "status, source, created_at, state, attempts, next_attempt_at, sent_at, text) "
            "VALUES (:s, 'whatsapp', :r, :ref, 'query', 'webhook', :t, 'sent', 1, :t, :t, 'x')"),
            {"s": sub.id, "r": sub.recipient, "ref": REFERENCE, "t": at(1)})
        sub.last_status, sub.last_changed = "query", at(1)
    added = appdb.init_db()
    assert "notify_notifications.change_key" in added and len(added) >= 2
    with get_engine().connect() as conn:
        inspector = sa.inspect(conn)
        assert inspector.get_unique_constraints("notify_notifications") == []
        assert "uq_notify_notifications_change" in {
            i["name"] for i in inspector.get_indexes("notify_notifications") if i["unique"]}
    assert appdb.init_db() == []  # a second run changes nothing
    with session_scope() as session:
        assert session.execute(sa.select(StatusNotification.change_key)).scalars().all() == [
            "legacy:query"]
    store.record_change(REFERENCE, "assessed", at(2), "webhook", "evt-2")
    assert len(store.record_change(REFERENCE, "query", at(3), "webhook",
                                   "evt-3").notifications) == 1
    assert not store.record_change(REFERENCE, "query", at(3), "poll").notifications


def test_mask_recipient_does_what_its_docstring_says() -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    (test,) = finder.find(store.mask_recipient, "mask_recipient", globs={
        "mask_recipient": store.mask_recipient})
    assert len(test.examples) == 3
    assert runner.run(test).failed == 0
