"""Dialogue names that several modules use: intents, actions, forms and slots.

The domain (`domain/*.yml`) declares them for Rasa; Python refers to them only through these
constants, and a test checks each one against the domain, so a rename cannot half-happen.
"""

from __future__ import annotations

# Knowledge entries become intents `kb_<entry id>` (compiled from knowledge/).
INTENT_PREFIX = "kb_"

# Intents
GREET = "greet"
GOODBYE = "goodbye"
THANK = "thank"
BOT_CHALLENGE = "bot_challenge"
ASK_CAPABILITIES = "ask_capabilities"
REQUEST_HUMAN = "request_human"
AFFIRM = "affirm"
DENY = "deny"
STOP = "stop"
OUT_OF_SCOPE = "out_of_scope"
BROWSE_CATEGORY = "browse_category"
SOMETHING_ELSE = "something_else"
CHECK_DECLARATION_STATUS = "check_declaration_status"
FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
NLU_FALLBACK = "nlu_fallback"  # Rasa's FallbackClassifier
OTHER_LANGUAGE = "other_language"  # set by bot.understanding, never by the model
DOMESTIC_TAX = "domestic_tax"
NOTIFY_SUBSCRIBE = "notify_subscribe"  # "tell me when it changes" (button or typed)
STOP_NOTIFICATIONS = "stop_notifications"

# Actions
ANSWER_ACTION = "action_answer_knowledge"
REPLY_ACTION = "action_reply"
CLARIFY_ACTION = "action_clarify"
BROWSE_ACTION = "action_browse_category"
FEEDBACK_ACTION = "action_feedback"
START_HANDOVER_ACTION = "action_start_handover"
CREATE_TICKET_ACTION = "action_create_ticket"
CANCEL_HANDOVER_ACTION = "action_cancel_handover"
CHECK_DECLARATION_ACTION = "action_check_declaration"
CANCEL_DECLARATION_ACTION = "action_cancel_declaration"
SESSION_START_ACTION = "action_session_start"  # Rasa's
NOTIFY_SUBSCRIBE_ACTION = "action_notify_subscribe"
STOP_NOTIFICATIONS_ACTION = "action_stop_notifications"

# Forms and their validators
HANDOVER_FORM = "handover_form"
DECLARATION_FORM = "declaration_form"
VALIDATE_HANDOVER_FORM = "validate_handover_form"
VALIDATE_DECLARATION_FORM = "validate_declaration_form"

# Slots
HANDOVER_NAME = "handover_name"
HANDOVER_QUESTION = "handover_question"
HANDOVER_CONTACT = "handover_contact"
DECLARATION_REFERENCE = "declaration_reference"
DECLARATION_TPIN = "declaration_tpin"
# text: the reference of a lookup that found nothing, tried again with a TPIN typed alone
DECLARATION_RETRY = "declaration_retry_reference"
FEEDBACK_COUNT = "answers_since_feedback"  # float: knowledge answers since "did this help?"
NOTIFY_OFFERED = "notify_offered"  # bool: updates were just offered (rules read it)
NOTIFY_OFFER = "notify_offer"  # JSON: what was offered (reference, status, date, wording)

# Entities
CATEGORY_ENTITY = "category"
