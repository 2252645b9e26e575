"""`python -m bot review`: what each owner must re-check, oldest first, as `validate` warns."""

from __future__ import annotations

import datetime as dt

from bot.content.checks import validate
from bot.support import review
from bot.support.report import to_html, to_markdown
from tests.content.test_validate import TODAY, entry, make_kb
from tests.support.test_report import report_for


def knowledge(tmp_path):
    a = "category: A\nentries:\n" + entry("old_vat", "vat", reviewed="2024-03-01") \
        + entry("fresh", "fresh", reviewed="2026-11-01") \
        + entry("older_tpin", "tpin", reviewed="2023-01-10").replace(
            "owner: Test Unit", "owner: Registration Division")
    b = "category: B\nentries:\n" + entry("oldest", "cars", reviewed="2022-06-30")
    return make_kb(tmp_path, {"a.yml": a, "b.yml": b})


def test_entries_due_are_grouped_by_owner_oldest_first_with_file_and_line(tmp_path):
    report = validate(knowledge(tmp_path), today=TODAY)
    due = review.due_for_review(report.kb, TODAY)
    assert list(due) == ["Registration Division", "Test Unit"]
    assert [d.entry_id for d in due["Test Unit"]] == ["oldest", "old_vat"]
    first = due["Test Unit"][0]
    assert first.where.startswith("knowledge/b.yml:") and first.reviewed == dt.date(2022, 6, 30)
    assert (report.kb.entries["oldest"].field_lines["reviewed"]
            == int(first.where.rsplit(":", 1)[1]))
    # The same entries `validate` warns about, no more, no fewer.
    warned = {p.message.split("'")[1] for p in report.warnings if "last reviewed" in p.message}
    assert warned == {d.entry_id for items in due.values() for d in items}


def test_the_owner_filter_and_the_months_from_settings(tmp_path):
    kb = validate(knowledge(tmp_path), today=TODAY).kb
    assert list(review.due_for_review(kb, TODAY, owner="registration division")) == [
        "Registration Division"]
    kb.settings["review_after_months"] = 48
    assert [d.entry_id for items in review.due_for_review(kb, TODAY).values()
            for d in items] == ["oldest"]


def test_the_printed_list(tmp_path):
    kb = validate(knowledge(tmp_path), today=TODAY).kb
    text = review.render(review.due_for_review(kb, TODAY), 12)
    assert text.startswith("3 entries not reviewed for more than 12 months")
    assert "Test Unit (2):" in text
    assert "reviewed 2022-06-30  What about cars?" in text
    assert review.render({}, 12).startswith("No entry is due for review")


def test_the_command_reads_knowledge_and_refuses_an_unknown_owner(tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.setenv("KNOWLEDGE_DIR", str(knowledge(tmp_path)))
    assert review.main(today=TODAY) == 0
    assert "Registration Division (1):" in capsys.readouterr().out
    assert review.main(owner="Nobody", today=TODAY) == 1
    assert "Owners: Registration Division, Test Unit." in capsys.readouterr().out


def test_the_weekly_report_has_the_same_section(tmp_path):
    kb = validate(knowledge(tmp_path), today=TODAY).kb
    r = report_for(tmp_path / "empty.db")
    r.due_reviews = review.due_for_review(kb, TODAY)
    md, page = to_markdown(r), to_html(r)
    assert "## Entries due for review, by owner" in md
    assert "### Test Unit (2)" in md and "| 2022-06-30 | What about cars? |" in md
    assert "<h3>Registration Division (1)</h3>" in page
