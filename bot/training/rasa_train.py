"""`rasa train` with the project's measured speed-ups installed: `python -m bot.training.rasa_train
train ...` takes exactly `rasa train`'s arguments.

RulePolicy checks the rules for contradictions by predicting every rule tracker against every
rule: with one rule per knowledge entry plus one per entry and form, that check grew with the
square of the knowledge base (137 s of 668 for 202 entries, cProfile). bot/patches/speedups.py's
rule index (only rules that can match are checked, by Rasa's own test) makes it linear; the
learned rules and the check's verdicts are the same. The model graph also runs without dask's
scheduler, as in the server; each YAML file is parsed and schema-checked once and the model
file is compressed at gzip level 1 (bot/patches/training.py). Nothing else of bot.patches
(which changes serving) is installed.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from bot import patches
    from bot.patches import speedups, training

    if patches.enabled():  # the version guard and CUSTOMS_RASA_PATCHES=off, as for serving
        speedups.install()
        training.install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
