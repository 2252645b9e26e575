"""Test helpers: a fake Graph API on loopback and Meta-shaped webhook payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PHONE_NUMBER_ID = "106540352242922"
USER = "260971234567"


class FakeGraphApi:
    """Records every POST it receives; answers with queued statuses, then 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with fake._lock:
                    status = fake.statuses.pop(0) if fake.statuses else 200
                    fake.received.append(
                        {
                            "path": self.path,
                            "authorization": self.headers.get("Authorization"),
                            "json": json.loads(body),
                            "status": status,
                        }
                    )
                reply = (
                    {"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT"}]}
                    if status < 300
                    else {"error": {"message": "Service temporarily unavailable", "code": 2}}
                )
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v19.0"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeGraphApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.statuses.clear()

    def successful(self) -> list[dict[str, Any]]:
        """Bodies of the messages accepted (status 2xx), in arrival order."""
        with self._lock:
            return [r["json"] for r in self.received if r["status"] < 300]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10):
        """Wait until ``predicate(successful bodies)`` holds; return the bodies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bodies = self.successful()
            if predicate(bodies):
                return bodies
            time.sleep(0.05)
        raise AssertionError(f"fake Graph API never satisfied the wait; got {self.received}")


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(value: dict[str, Any]) -> dict[str, Any]:
    """Envelope of Meta's webhook notifications (whatsapp_business_account / messages)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def _message(message_id: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return notification(
        {
            "contacts": [{"profile": {"name": "Mwila Banda"}, "wa_id": USER}],
            "messages": [
                {
                    "from": USER,
                    "id": message_id,
                    "timestamp": "1764403200",
                    "type": kind,
                    **content,
                }
            ],
        }
    )


def text_message(message_id: str, body: str) -> dict[str, Any]:
    return _message(message_id, "text", {"text": {"body": body}})


def button_reply(message_id: str, reply_id: str, title: str) -> dict[str, Any]:
    return _message(
        message_id,
        "interactive",
        {
            "context": {"from": "15550783881", "id": "wamid.OUT"},
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": reply_id, "title": title},
            },
        },
    )


def list_reply(message_id: str, reply_id: str, title: str) -> dict[str, Any]:
    return _message(
        message_id,
        "interactive",
        {
            "context": {"from": "15550783881", "id": "wamid.OUT"},
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": reply_id, "title": title, "description": ""},
            },
        },
    )


def image_message(message_id: str) -> dict[str, Any]:
    return _message(
        message_id,
        "image",
        {
            "image": {
                "caption": "my receipt",
                "mime_type": "image/jpeg",
                "sha256": "IMAGE_HASH",
                "id": "1234567890",
            }
        },
    )


def location_message(message_id: str) -> dict[str, Any]:
    return _message(
        message_id,
        "location",
        {"location": {"latitude": -15.4167, "longitude": 28.2833, "name": "Lusaka"}},
    )


def status_callback(message_id: str) -> dict[str, Any]:
    return notification(
        {
            "statuses": [
                {
                    "id": message_id,
                    "status": "delivered",
                    "timestamp": "1764403300",
                    "recipient_id": USER,
                    "conversation": {
                        "id": "CONVERSATION_ID",
                        "origin": {"type": "service"},
                    },
                    "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
                }
            ]
        }
    )
