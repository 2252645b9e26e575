"""The held-out scoring counts right answers, wrong entries and declines as the bot behaves."""

from bot.training.evaluate import Prediction, load_heldout, score


def p(expected, intent, confidence, margin=1.0, ambiguity=0.0, suggestions=()):
    return Prediction("q", expected, intent, confidence, margin, ambiguity, suggestions)


def test_threshold_turns_low_confidence_answers_into_declines():
    preds = [p("a", "kb_a", 0.9), p("a", "kb_b", 0.4, suggestions=("kb_b", "kb_a")),
             p("b", "kb_a", 0.8), p(None, "kb_a", 0.45), p(None, "out_of_scope", 0.9)]
    s = score(preds, 0.5)
    assert (s.in_scope, s.correct, s.wrongly_declined, s.wrong_entry) == (3, 1, 1, 1)
    assert s.declined_but_suggested == 1
    assert (s.oos, s.oos_declined, s.oos_answered) == (2, 2, 0)
    assert s.confusions == {("b", "a"): 1}
    low = score(preds, 0.3)
    assert (low.correct, low.wrong_entry, low.oos_answered) == (1, 2, 1)


def test_ambiguous_top_two_is_declined():
    preds = [p("a", "kb_a", 0.6, margin=0.05, ambiguity=0.1)]
    assert score(preds, 0.5).wrongly_declined == 1


def test_heldout_set_covers_every_entry():
    from pathlib import Path

    from bot.content.reader import read_knowledge

    in_scope, oos = load_heldout()
    kb, _ = read_knowledge(Path(__file__).resolve().parents[2] / "knowledge")
    assert {entry for _, entry in in_scope} == set(kb.entries)
    assert len(oos) >= 100
    training = {e.lower() for entry in kb.entries.values() for e in entry.examples}
    assert not [q for q, _ in in_scope if q.lower() in training], "held-out leaked into training"


def test_misses_name_what_the_bot_did_instead():
    from bot.training.evaluate import misses

    preds = [p("a", "kb_a", 0.9), p("a", "kb_b", 0.8), p("a", "out_of_scope", 0.7),
             p(None, "kb_a", 0.9), p(None, "out_of_scope", 0.9)]
    lines = misses(preds, 0.5)
    assert len(lines) == 3
    assert "a -> answered b" in lines[0] and "declined (top out_of_scope 0.70" in lines[1]
    assert "out_of_scope -> answered a" in lines[2]


def test_clean_dev_sets_cover_every_entry_and_are_not_trained_on():
    """eval/dev_clean.yml, dev_clean2.yml (tuning), dev_clean_check.yml and dev_clean3.yml
    (check) score with
    `bot eval --set`: each covers every entry, no two share a question, and none of theirs is a
    training example."""
    from pathlib import Path

    from bot.content.reader import read_knowledge

    root = Path(__file__).resolve().parents[2]
    kb, _ = read_knowledge(root / "knowledge")
    training = {e.lower() for entry in kb.entries.values() for e in entry.examples}
    seen: list[set[str]] = []
    for name in ("dev_clean.yml", "dev_clean2.yml", "dev_clean_check.yml", "dev_clean3.yml"):
        in_scope, oos = load_heldout(root / "eval" / name)
        assert {entry for _, entry in in_scope} == set(kb.entries)
        assert len(oos) >= 30
        texts = {q.lower() for q, _ in in_scope} | {q.lower() for q in oos}
        assert not texts & training, f"{name} leaked into training"
        seen.append(texts)
    for i, texts in enumerate(seen):
        assert not any(texts & other for other in seen[i + 1:])


def test_a_held_out_set_is_never_scored_with_its_misses(capsys):
    from pathlib import Path

    from bot.training.evaluate import main_set

    assert main_set(Path("eval/heldout.yml")) == 2
    assert "never shown" in capsys.readouterr().out


def test_a_check_set_marked_blind_or_a_link_to_a_held_out_set_is_refused(tmp_path, capsys):
    from pathlib import Path

    from bot.training.evaluate import main_set

    link = tmp_path / "mine.yml"
    link.symlink_to(Path("eval/heldout.yml").resolve())
    assert main_set(link) == 2
    assert main_set(Path("eval/dev_clean_check.yml")) == 2
    assert capsys.readouterr().out.count("never shown") == 2


def test_a_file_of_another_format_is_refused_before_any_training(tmp_path, capsys):
    from bot.training.evaluate import main_set

    other = tmp_path / "turns.yml"
    other.write_text("- [hello, and vat?, import_vat_rate]\n")
    assert main_set(other) == 2
    assert "not a set in eval/heldout.yml's format" in capsys.readouterr().out
