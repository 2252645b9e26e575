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


def test_switches_read_on_and_off_and_name_the_variable_otherwise():
    from dataclasses import dataclass

    from bot.settings.env import env_field, env_switch, from_env

    assert env_switch("X", True, {}) is True
    assert env_switch("X", True, {"X": " OFF "}) is False
    assert env_switch("X", False, {"X": "yes"}) is True
    with pytest.raises(ValueError) as error:
        env_switch("X", True, {"X": "maybe"})
    assert str(error.value) == "X must be on or off, not 'maybe'"

    @dataclass(frozen=True)
    class Settings:
        enabled: bool = env_field("X_ON", True)
        count: int = env_field("X_COUNT", 2)

    assert from_env(Settings, {"X_ON": "off", "X_COUNT": "5"}) == Settings(False, 5)
    assert from_env(Settings, {}) == Settings(True, 2)
