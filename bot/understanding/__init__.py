"""Understanding people as they write: around the trained NLU, not inside it.

The Rasa model classifies one clean English question well. People send misspellings and SMS
spelling, follow-ups that lean on the previous answer, two questions at once, and messages in
other languages. `Understanding` (built by `build.current()`) turns such a message into one
parse Rasa can act on:

    other language?  ──yes──▶ intent other_language (the model is not asked)
        │ no
    spelling.normalise ──▶ parse (the trained model)
        │
    clauses.split ──two confident entries──▶ parse_data["compound"] = both, in order
        │        └──one answered, another clause clearly another entry──▶ parse_data["offer"]
        │           (a button after the answer, not an answer)
    context.resolve ──a short follow-up of the previous answer──▶ the entry it means

Pure code (no Rasa import): `bot.patches.understanding` wires it into Rasa's
`MessageProcessor.parse_message`, which is the one place that sees both the message and the
conversation. The stored text is always what the person typed.
"""

import os

from bot.understanding.pipeline import Context, Understanding

__all__ = ["Context", "Understanding", "enabled"]


def enabled() -> bool:
    """False with `CUSTOMS_UNDERSTANDING=off`: the model's parse alone, and forms that take
    any message as the answer (how the bot behaved before; `make eval` measures both)."""
    return (os.environ.get("CUSTOMS_UNDERSTANDING") or "").strip().lower() not in (
        "off", "0", "false", "no")
