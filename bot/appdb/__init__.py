"""The application database: declarations, failed lookups, tickets and votes.

Shared by the action server and the support unit's tools; no Rasa import. `init_db()` is the
one schema step (`python -m bot db init`).
"""

from bot.appdb.engine import database_url, dispose_engines, get_engine, session_scope
from bot.appdb.models import init_db

__all__ = ["database_url", "dispose_engines", "get_engine", "init_db", "session_scope"]
