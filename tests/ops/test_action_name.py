"""The action name counted for /metrics, read from an action call's first bytes when rasa-sdk
ran it, and the status wording parsed again only when its file changed."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.ops.action_server import action_name


def _request(payload: object, deflate: bool = False, raw: bytes | None = None) -> SimpleNamespace:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"content-encoding": "deflate"} if deflate else {}
    return SimpleNamespace(body=zlib.compress(body) if deflate else body, headers=headers)


@pytest.mark.parametrize("deflate", [False, True])
@pytest.mark.parametrize("served", [False, True])
def test_the_name_is_the_same_read_whole_or_from_the_first_bytes(deflate, served) -> None:
    call = {"next_action": "action_check_declaration", "sender_id": "x",
            "tracker": {"events": [{"text": "ü" * 3000}]}, "domain": {}}
    assert action_name(_request(call, deflate), served) == "action_check_declaration"
    later = {"sender_id": "x", "tracker": {"events": [{"next_action": "nested"}]},
             "next_action": "action_ok"}
    assert action_name(_request(later, deflate), served) == "action_ok"
    assert action_name(_request({"next_action": None}, deflate), served) is None
    long_name = "a" * 5000
    assert action_name(_request({"next_action": long_name}, deflate), served) == long_name


def test_a_broken_body_has_no_name() -> None:
    assert action_name(_request(None, raw=b'{"next_action": "x", '), served=False) is None
    assert action_name(_request(None, raw=b"[1, 2]")) is None


def test_status_texts_are_parsed_again_only_when_the_file_changed(tmp_path: Path) -> None:
    from bot.content import statuses

    source = statuses.statuses_file().read_text("utf-8")
    path = tmp_path / "statuses.yml"
    path.write_text(source, "utf-8")
    first = statuses.load_status_texts(path)
    assert statuses.load_status_texts(path) is first
    path.write_text(source.replace("statuses:", "statuses:  ", 1), "utf-8")
    assert statuses.load_status_texts(path) is not first
    path.write_text("statuses: [", "utf-8")
    with pytest.raises(statuses.StatusTextError):
        statuses.load_status_texts(path)
