"""wire.request: payloads, headers, signing, redirects; no sockets."""

from __future__ import annotations

import json
import uuid

import pytest

from langchain_liaobots.emulator.codec import parse_payload
from langchain_liaobots.errors import LiaobotsRedirectError
from langchain_liaobots.registry import get_model
from langchain_liaobots.wire.protocol import DEFAULT_PROMPT
from langchain_liaobots.wire.request import (
    Request,
    build_headers,
    build_payload,
    build_request,
    follow_redirect,
    with_auth_headers,
)

MSGS = [{"role": "user", "content": "hi"}]


def test_payload_has_exactly_the_specified_fields() -> None:
    payload = build_payload(get_model("gpt-4"), "be brief", MSGS)
    assert list(payload) == ["conversationId", "model", "messages", "key", "prompt"]
    assert uuid.UUID(payload["conversationId"]).version == 4
    assert payload["model"] == {
        "id": "gpt-4",
        "name": "GPT-4",
        "maxLength": 24000,
        "tokenLimit": 8000,
    }
    assert payload["messages"] == MSGS
    assert payload["key"] == ""
    assert payload["prompt"] == "be brief"


def test_conversation_id_is_fresh_per_request() -> None:
    spec = get_model("gpt-3.5-turbo")
    ids = {build_payload(spec, "", MSGS)["conversationId"] for _ in range(50)}
    assert len(ids) == 50


def test_headers_derive_origin_and_referer_from_base_url() -> None:
    headers = build_headers("https://liaobots.com/some/path")
    assert headers["origin"] == "https://liaobots.com"
    assert headers["referer"] == "https://liaobots.com/"
    assert "x-auth-code" not in headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("langchain-liaobots/")


def test_request_body_round_trips_through_the_servers_parser() -> None:
    req = build_request("http://127.0.0.1:1", get_model("gpt-4"), "p", MSGS)
    assert req.url == "http://127.0.0.1:1/api/chat"
    assert parse_payload(req.body)["messages"] == MSGS
    signed = with_auth_headers(req, "code-1", "gkp2=s")
    assert signed.headers["x-auth-code"] == "code-1"
    assert signed.headers["cookie"] == "gkp2=s"
    assert "x-auth-code" not in req.headers
    assert "code-1" not in repr(signed)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (b"{}", "missing field(s) conversationId, model, messages, key, prompt"),
    ],
)
def test_parse_payload_names_what_is_wrong(body: bytes, fragment: str) -> None:
    with pytest.raises(ValueError, match="Invalid Liaobots chat request") as err:
        parse_payload(body)
    assert fragment in str(err.value)


def test_parse_payload_rejects_bad_roles_and_models() -> None:
    good = build_payload(get_model("gpt-4"), "", MSGS)
    bad_role = {**good, "messages": [{"role": "tool", "content": "x"}]}
    with pytest.raises(ValueError, match=r"messages\[0\] must be"):
        parse_payload(json.dumps(bad_role).encode())
    bad_model = {**good, "model": {"id": "gpt-4"}}
    with pytest.raises(ValueError, match="'model' must be an object with id, name"):
        parse_payload(json.dumps(bad_model).encode())


def test_temperature_is_the_last_field_only_when_set() -> None:
    spec = get_model("gpt-4")
    assert "temperature" not in build_payload(spec, "", MSGS)
    payload = build_payload(spec, "", MSGS, temperature=0.3)
    assert list(payload)[-1] == "temperature"
    assert payload["temperature"] == 0.3
    later = build_payload(
        spec.model_copy(update={"provider": "OpenAI"}),
        "",
        MSGS,
        body_format="2025",
        temperature=0,
    )
    assert later["temperature"] == 0
    assert parse_payload(json.dumps(payload).encode())["temperature"] == 0.3


def test_default_prompt_is_the_specified_persona() -> None:
    assert "ChatGPT" in DEFAULT_PROMPT
    assert "markdown" in DEFAULT_PROMPT.lower()


def test_redirect_rules() -> None:
    req = Request("http://127.0.0.1:1/api/chat", {"x-auth-code": "c"}, b"{}")
    moved = follow_redirect(req, 308, "/api/v2/chat", 0)
    assert moved.url == "http://127.0.0.1:1/api/v2/chat"
    assert moved.body == req.body
    with pytest.raises(LiaobotsRedirectError, match=r"another origin \(http://e:1\)"):
        follow_redirect(req, 307, "http://e:1/x?code=c", 0)
    with pytest.raises(LiaobotsRedirectError, match="into a GET"):
        follow_redirect(req, 303, "/api/chat", 0)
    with pytest.raises(LiaobotsRedirectError, match="without a Location"):
        follow_redirect(req, 307, None, 0)
    with pytest.raises(LiaobotsRedirectError, match="more than 5"):
        follow_redirect(req, 307, "/api/chat", 5)


_ORIGIN = "http://127.0.0.1:1000"


@pytest.mark.parametrize(
    ("location", "refused"),
    [
        # urllib3 connects to :2000, urllib.parse reads :1000
        ("http://127.0.0.1:2000\\@127.0.0.1:1000/api/chat", "backslash"),
        ("http://127.0.0.1:2000\\@127.0.0.1:1000/?c=SECRET-CODE-42", "backslash"),
        ("\\\\127.0.0.1:2000/api/chat", "backslash"),
        ("/api\\chat", "backslash"),
        # urljoin drops tabs and newlines: refused before it can
        ("http://127.0.0.1:2000\t@127.0.0.1:1000/api/chat", "control character"),
        ("http://127.0.0.1:1000\n/api/chat", "control character"),
        ("/api/chat\r\nx-auth-code: SECRET-CODE-42", "control character"),
        (" //127.0.0.1:2000/api/chat", "space"),
        ("http://127.0.0.1:1000\uff0f@127.0.0.1:2000/", "non-ASCII"),
        ("http://SECRET-CODE-42@127.0.0.1:1000/api/chat", "credentials"),
        ("http://127.0.0.1:1000;@127.0.0.1:2000/api/chat", "credentials"),
        ("//127.0.0.1:1000@127.0.0.1:2000/api/chat", "credentials"),
        ("http://127.0.0.1%3a1000/api/chat", "not a plain name"),
        ("http://127.0.0.1:1000:2000/api/chat", "not a plain name"),
        ("http://127.0.0.1:99999/api/chat", "port 99999"),
        ("//127.0.0.1:2000/api/chat", "another origin (http://127.0.0.1:2000)"),
        ("https://127.0.0.1:1000/api/chat", "another origin (https://127.0.0.1:1000)"),
        ("http://localhost:1000/api/chat", "another origin (http://localhost:1000)"),
        ("http://127.1:1000/api/chat", "another origin (http://127.1:1000)"),
        ("http://[::1]:1000/api/chat", "another origin (http://[::1]:1000)"),
    ],
)
def test_a_location_read_apart_or_elsewhere_is_refused(
    location: str, refused: str
) -> None:
    req = Request(_ORIGIN + "/api/chat", {"x-auth-code": "SECRET-CODE-42"}, b"{}")
    with pytest.raises(LiaobotsRedirectError) as err:
        follow_redirect(req, 307, location, 0)
    message = str(err.value)
    assert refused in message
    assert "not followed" in message
    assert "SECRET-CODE-42" not in message
    assert location.strip() not in message
    assert err.value.status_code == 307


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/api/v2/chat", _ORIGIN + "/api/v2/chat"),
        ("v2", _ORIGIN + "/api/v2"),
        ("//127.0.0.1:1000/x", _ORIGIN + "/x"),
        ("HTTP://127.0.0.1:01000/x", "http://127.0.0.1:01000/x"),
        ("/x?a=@127.0.0.1:2000", _ORIGIN + "/x?a=@127.0.0.1:2000"),
        ("/x#@127.0.0.1:2000", _ORIGIN + "/x#@127.0.0.1:2000"),
    ],
)
def test_a_location_on_the_same_origin_is_followed(location: str, target: str) -> None:
    req = Request(_ORIGIN + "/api/chat", {"x-auth-code": "c"}, b"{}")
    assert follow_redirect(req, 308, location, 0).url == target
