"""Limits keyed on a person use the REST client's address, not the sender id it makes up
(bot/channels/identity.py): a real channel server on loopback, and the address rules."""

from __future__ import annotations

import ipaddress
import json
import urllib.request

import pytest

from bot.channels.identity import CLIENT_KEY, client_address, client_identity
from bot.settings.errors import SettingError
from bot.settings.rest import parse_trusted_proxies
from tests.channels.channels_server import running

PROXIES = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1")


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("198.51.100.7", None, "198.51.100.7"),                      # no proxy
    ("198.51.100.7", "203.0.113.9", "198.51.100.7"),             # not our proxy: ignored
    ("10.1.2.3", "203.0.113.9", "203.0.113.9"),                  # our proxy forwarded it
    ("10.1.2.3", "1.1.1.1, 203.0.113.9", "203.0.113.9"),         # the client's own entry left
    ("10.1.2.3", "203.0.113.9, 10.9.9.9", "203.0.113.9"),        # two of our proxies
    ("10.1.2.3", "garbage", "10.1.2.3"),                         # nothing usable
    ("10.1.2.3", "", "10.1.2.3"),
    ("::ffff:198.51.100.7", None, "198.51.100.7"),
])
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(peer, forwarded, expected):
    assert client_address(peer, forwarded, PROXIES) == expected


def test_an_ipv6_client_is_its_64_whichever_address_it_takes_from_it():
    from bot.channels.identity import person_address

    assert person_address("2001:db8:1:2::17") == person_address("2001:db8:1:2:ffff::1")
    assert person_address("2001:db8:1:2::17") != person_address("2001:db8:1:3::17")
    assert person_address("198.51.100.7") == "198.51.100.7"


def test_trusted_proxies_setting():
    assert parse_trusted_proxies("") == ()
    assert ipaddress.ip_address("10.200.0.1") in parse_trusted_proxies("10.0.0.0/8")[0]
    with pytest.raises(SettingError, match="TRUSTED_PROXIES"):
        parse_trusted_proxies("10.0.0.0/33")


def post(base: str, sender: str, headers: dict[str, str] | None = None,
         metadata: dict | None = None) -> int:
    body = {"sender": sender, "message": "hello"}
    if metadata is not None:
        body["metadata"] = metadata
    request = urllib.request.Request(f"{base}/webhooks/rest/webhook",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def handled(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/test/handled", timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory):
    """The channels with 127.0.0.1 as the trusted proxy (as nginx in front of Rasa)."""
    env = {"TRUSTED_PROXIES": "127.0.0.1/32", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "5",
           "RATE_LIMIT_PER_MINUTE": "30"}
    with running(env, tmp_path_factory.mktemp("cs") / "server.log") as (base, _):
        yield base


def test_the_channel_passes_the_client_identity_and_replaces_a_forged_one(behind_proxy):
    forged = {CLIENT_KEY: client_identity("192.0.2.1"), "page": "/declarations"}
    assert post(behind_proxy, "web-a", {"X-Forwarded-For": "203.0.113.50"}, forged) == 200
    [seen] = [m for m in handled(behind_proxy) if m["sender_id"] == "web-a"]
    assert seen["metadata"] == {CLIENT_KEY: client_identity("203.0.113.50"),
                                "page": "/declarations"}
    assert "203.0.113.50" not in json.dumps(seen)  # a keyed hash, not the address


def test_fresh_sender_ids_from_one_client_are_limited_together(behind_proxy):
    """Before, each made-up sender id had its own 30 messages a minute."""
    client = {"X-Forwarded-For": "203.0.113.60"}
    codes = [post(behind_proxy, f"fresh-{n}", client) for n in range(8)]
    assert codes == [200] * 5 + [429] * 3
    assert post(behind_proxy, "fresh-99", {"X-Forwarded-For": "203.0.113.61"}) == 200


def test_without_trusted_proxies_the_header_is_ignored(tmp_path):
    with running({"TRUSTED_PROXIES": "", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "3"},
                 tmp_path / "server.log") as (base, _):
        codes = [post(base, f"s-{n}", {"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(5)]
        assert codes == [200] * 3 + [429] * 2  # every request is 127.0.0.1, whatever it says
        assert {m["metadata"][CLIENT_KEY] for m in handled(base)} == {client_identity("127.0.0.1")}
