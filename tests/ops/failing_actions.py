"""Two actions for the action server's metrics test: one that works, one that raises."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action


class ActionFine(Action):
    def name(self) -> str:
        return "action_fine"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list:
        return []


class ActionExplode(Action):
    def name(self) -> str:
        return "action_explode"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list:
        raise RuntimeError("broken on purpose")
