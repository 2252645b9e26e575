"""Calendar days as staff mean them: local days, turned into the UTC instants the stores keep.

Staff ask for "1 to 30 November" in the office's time zone, while Rasa's events carry Unix times
and the application database keeps aware UTC datetimes; both convert through `day_start`.
"""

from __future__ import annotations

import datetime as dt


def day_start(day: dt.date) -> dt.datetime:
    """Local midnight at the start of `day`, as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.timezone.utc)


def day_range(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the days `since` to `until`, both included, in UTC."""
    return day_start(since), day_start(until + dt.timedelta(days=1))
