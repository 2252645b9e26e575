"""Small text helpers shared by the content checks and the support report.

They decide what counts as "the same example" and how a typo is answered, so the validator
and the report's draft entries must use the same ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any


def normalise(text: str) -> str:
    """Lower case, letters and digits only: what the classifier effectively sees."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def trigrams(text: str) -> set[str]:
    """Character trigrams of a normalised text, padded so that word starts count."""
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def suggest(word: str, choices: Sequence[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close: typo help."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def is_text(value: Any) -> bool:
    """A string with something in it: what every text field of the content needs."""
    return isinstance(value, str) and bool(value.strip())
