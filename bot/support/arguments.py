"""Command-line values the support and operator commands share."""

from __future__ import annotations

import argparse


def count(text: str) -> int:
    """A whole number of 1 or more: `--days 0` silently meant the default period, `--days -5`
    ended retention in a traceback, `--limit 0` listed every ticket."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: give 1 or more")
    return value
