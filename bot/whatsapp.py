"""Deprecated class path, kept for one release: operators' own credentials.yml or
endpoints.yml may still name it. The class lives in `bot.channels.whatsapp`."""

import warnings

from bot.channels.whatsapp import WhatsAppInput

NEW = "bot.channels.whatsapp.WhatsAppInput"
warnings.warn(f"{__name__}.WhatsAppInput is deprecated: name {NEW} in your "
              "configuration",
              DeprecationWarning, stacklevel=2)

__all__ = ["WhatsAppInput"]
