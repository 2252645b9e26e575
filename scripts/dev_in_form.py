"""Replay the development in-form messages (eval/dev_in_form.yml) over REST, as `make eval`
replays its in_form kind, and show each miss with what the bot said.

    .venv/bin/python scripts/dev_in_form.py [eval/dev_in_form.yml]

Uses the latest trained model (run `python -m bot train` first). Never run it on
eval/realworld.yml: that set measures the result.
"""

from __future__ import annotations

import sys
import tempfile
from functools import partial
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's bot/ and actions/, not an installed copy


def main() -> None:
    from bot.content.live import get_knowledge
    from bot.ops import launcher
    from bot.settings.paths import DOMAIN_DIR
    from bot.training import realworld

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval" / "dev_in_form.yml"
    items = yaml.safe_load(path.read_text("utf-8"))
    model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
    texts = realworld.conversation_texts(get_knowledge(), DOMAIN_DIR)
    total = realworld.Tally()
    with tempfile.TemporaryDirectory(prefix="dev-in-form-") as tmp, \
            launcher.scratch_stack(model, Path(tmp), web=False) as stack:
        rest = partial(launcher.rest_send, f"{stack.rasa_url}/webhooks/rest/webhook")
        said: list[str] = []

        def send(sender: str, text: str) -> list[dict]:
            replies = rest(sender, text)
            said[:] = [r.get("text") or "" for r in replies]
            return replies

        for item in items:
            one = realworld.score_in_form([item], send, texts)
            outcome = "right" if one.right else "wrong" if one.wrong else "declined"
            total.add(outcome, item["text"])
            if outcome != "right":
                print(f"{outcome:8s} [{item['form']}] {item['text']!r} ({item['expect']}) -> "
                      f"{[s[:60] for s in said]}")
    print(f"\n{total.total} messages: right {total.right}, wrong {total.wrong}, "
          f"declined {total.declined}")


if __name__ == "__main__":
    main()
