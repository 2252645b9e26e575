"""Counts given on the command line: 1 or more, or a plain error before anything is done."""

from __future__ import annotations

import pytest

from bot.ops import cli


@pytest.mark.parametrize("argv", [
    ["tickets", "list", "--limit", "0"],
    ["tickets", "list", "--limit", "-1"],
    ["retention", "--days", "-5"],
    ["retention", "--days", "0"],
    ["report", "--days", "0"],
    ["report", "--days", "seven"],
])
def test_a_count_below_one_is_refused_with_a_plain_error(argv, capsys):
    """`--days 0` meant the default period (180 days of conversations kept, or a week's
    report), `--days -5` a traceback, `--limit 0` every ticket."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and ("1 or more" in err or "whole number" in err)
    assert "Traceback" not in err
