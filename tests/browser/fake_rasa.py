"""A stand-in for Rasa's REST channel, for testing widget mechanics without a trained model.

It speaks the same wire format (``POST /webhooks/rest/webhook`` with ``{"sender", "message"}``
answered by a list of ``{recipient_id, text?, buttons?}``; ``GET /`` answers "Hello from Rasa")
and the same CORS rules (only the configured origins get ``Access-Control-Allow-Origin``).
Replies are scripted by the incoming text so a test can ask for exactly what it checks.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RICH_TEXT = (
    "A **TPIN** is your taxpayer number.\n"
    "- Register online at https://www.zra.org.zm.\n"
    "- Read [the guide](https://example.org/guide) first.\n"
    "Never click [this](javascript:alert(1)) or data:text/html,<b>x</b>."
)


def scripted_reply(text: str) -> tuple[int, list[dict] | dict] | None:
    """Status and reply body for a message; None means 'echo it back'."""
    lowered = text.strip().lower()
    if lowered in ("hello", "what can you do"):
        return 200, [{"text": "Hello! What would you like to know?", "buttons": [
            {"title": "About TPIN", "payload": "/kb_tpin"},
            {"title": "Clearing agents", "payload": "/kb_agents"},
        ]}]
    if lowered in ("/kb_tpin", "what is a tpin"):
        return 200, [{"text": RICH_TEXT}]
    if lowered == "boom":
        return 500, []
    if lowered == "too fast":
        return 429, {"error": "rate_limited",
                     "message": "You are sending messages too fast. Please wait a minute."}
    if lowered == "two":
        return 200, [{"text": "First part."}, {"text": "Second part."}]
    return None


class FakeRasa:
    """Runs the fake on a free loopback port in a background thread."""

    def __init__(self, allowed_origins: tuple[str, ...] = ("*",), delay: float = 0.0) -> None:
        self.allowed_origins = allowed_origins
        self.delay = delay
        self.received: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _cors(self) -> None:
                origin = self.headers.get("Origin")
                if origin and ("*" in fake.allowed_origins or origin in fake.allowed_origins):
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Access-Control-Allow-Headers", "Content-Type")
                    self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self._cors()
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_OPTIONS(self) -> None:
                self._send(204, b"", "text/plain")

            def do_GET(self) -> None:
                if self.path == "/":
                    self._send(200, b"Hello from Rasa: fake", "text/plain")
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                if self.path != "/webhooks/rest/webhook":
                    self._send(404, b"not found", "text/plain")
                    return
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                fake.received.append(payload)
                if fake.delay:
                    time.sleep(fake.delay)
                sender = str(payload.get("sender", ""))
                text = str(payload.get("message", ""))
                scripted = scripted_reply(text)
                status, replies = scripted or (200, [{"text": f"You said: {text}"}])
                body = replies if isinstance(replies, dict) else [
                    dict(reply, recipient_id=sender) for reply in replies]
                self._send(status, json.dumps(body).encode(), "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeRasa:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
