"""Declaration status notifications (issue 14): tell a person when their declaration moves.

Layer 4, above the channels and the actions, because it uses both: the WhatsApp Graph API
client of `bot.channels.whatsapp` and the status backends of `actions.declarations`. What the
dialogue needs (opt in, stop) is data, in `bot.appdb.notifications`, below both; so nothing
in layer 3 imports this package, and it never imports Rasa outside `webhook`.

- `base`: the `Sender` interface and what a notification says (`Notice`);
- `whatsapp`, `telegram`, `web`: one sender per channel;
- `text`: the wording, from knowledge/messages.yml and statuses.yml (live);
- `outbox`: claims recorded notifications and sends each once (`Notifier`);
- `events`: the customs system's signed webhook body: signature check, parsing;
- `poller`: `python -m bot notify poll`, for systems that cannot push;
- `webhook`: the Rasa input channel `customs` serving `POST /webhooks/customs/status-changes`.
"""
