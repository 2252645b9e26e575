"""Environment numbers: defaults, whole numbers, minimums, and one clear message."""

import pytest

from bot.settings.env import env_number


def test_default_when_unset_or_empty():
    assert env_number("X", 5.0, {}) == 5.0
    assert env_number("X", 5.0, {"X": "  "}) == 5.0


def test_values_and_kinds():
    assert env_number("X", 1.0, {"X": "2.5"}) == 2.5
    assert env_number("X", 1, {"X": "7"}, whole=True) == 7


@pytest.mark.parametrize("env, whole, minimum, message", [
    ({"X": "ten"}, False, 0, "X must be a number, not 'ten'"),
    ({"X": "2.5"}, True, 0, "X must be a whole number, not '2.5'"),
    ({"X": "-1"}, False, 0, "X must be at least 0, not -1"),
    ({"X": "0"}, True, 1, "X must be at least 1, not 0"),
])
def test_bad_values_name_the_variable(env, whole, minimum, message):
    with pytest.raises(ValueError) as error:
        env_number("X", 1, env, whole=whole, minimum=minimum)
    assert str(error.value) == message
