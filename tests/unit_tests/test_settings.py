"""settings: the checks of a model's settings, as pure functions.

`ChatLiaobots` calls them from its validators (its own tests show that path);
here each is driven with plain values.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.settings import (
    BASE_URL_ENV,
    check_given,
    clean_auth,
    headers_error,
    setting_names,
)


def test_setting_names_map_aliases_to_fields() -> None:
    names = setting_names(ChatLiaobots)
    assert names["model_name"] == "model"
    assert names["api_key"] == "auth"
    assert names["request_timeout"] == "timeout"
    assert names["max_completion_tokens"] == "max_tokens"
    assert names["temperature"] == "temperature"


def test_check_given_names_the_setting_meant() -> None:
    check_given(ChatLiaobots, {"model": "gpt-4", "api_key": "x"})
    with pytest.raises(ValueError, match=r"'temprature' \(did you mean 'temperature'"):
        check_given(ChatLiaobots, {"temprature": 0.2})
    with pytest.raises(ValueError, match=r"'max_completion' \(did you mean"):
        check_given(ChatLiaobots, {"max_completion": 5})


def test_check_given_says_where_model_kwargs_keys_belong() -> None:
    with pytest.raises(ValueError) as caught:
        check_given(ChatLiaobots, {"model_kwargs": {"timeout": 3, "tools": [], "x": 1}})
    said = str(caught.value)
    assert "'timeout' is a setting: ChatLiaobots(timeout=...)" in said
    assert "'tools' is a per-call option" in said
    assert "'x' is neither" in said


def test_check_given_names_a_bad_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "ftp://example.com")
    with pytest.raises(ValueError, match=BASE_URL_ENV):
        check_given(ChatLiaobots, {})
    check_given(ChatLiaobots, {"base_url": "http://127.0.0.1:9"})  # given: not read


def test_clean_auth_strips_and_refuses_what_a_header_cannot_carry() -> None:
    assert clean_auth(SecretStr("  code123\n")) == "code123"
    with pytest.raises(ValueError, match="a control character at position 3") as bad:
        clean_auth(SecretStr("ab\x00secret"))
    assert "secret" not in str(bad.value)


def test_headers_error_names_the_protocols_headers() -> None:
    assert headers_error({"X-Trace": "1"}) == ""
    said = headers_error({"X-Auth-Code": "k", "X-Trace": "1"})
    assert "default_headers may not set X-Auth-Code" in said
    assert "X-Trace" not in said.split(":")[0]
