"""The support unit's tools: the insights report, hand-over tickets, conversation retention.

Run from the CLI only. They read the conversation store with SQLAlchemy Core (`events`) and the
application database through `bot.appdb`, so they import neither Rasa nor `actions`.
"""
