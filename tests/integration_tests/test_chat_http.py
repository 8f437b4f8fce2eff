"""ChatLiaobots over real HTTP against the local Liaobots-compatible server."""

from __future__ import annotations

import json

import pytest
from langchain_core.exceptions import ContextOverflowError, ModelAuthenticationError
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from pydantic import SecretStr

from langchain_liaobots import ChatLiaobots, LiaobotsAuthenticationError
from langchain_liaobots.emulator import LiaobotsEmulator

TEXT = "héllo wörld — 你好 👋"


def test_invoke_returns_exact_text_and_metadata(llm: ChatLiaobots) -> None:
    msg = llm.invoke(TEXT)
    assert msg.content == f"You said: {TEXT}"
    assert msg.response_metadata == {
        "model_name": "gpt-4",
        "finish_reason": "stop",
        "model_provider": "liaobots",
    }


def test_stream_chunks_concatenate_exactly_and_end_with_last(llm: ChatLiaobots) -> None:
    chunks = list(llm.stream(TEXT))
    assert "".join(c.text for c in chunks) == f"You said: {TEXT}"
    assert len(chunks) > 3
    assert chunks[-1].chunk_position == "last"
    assert chunks[-1].response_metadata["model_provider"] == "liaobots"
    assert all(c.chunk_position is None for c in chunks[:-1])


async def test_ainvoke_and_astream_match_sync(llm: ChatLiaobots) -> None:
    assert (await llm.ainvoke(TEXT)).content == f"You said: {TEXT}"
    chunks = [c async for c in llm.astream(TEXT)]
    assert "".join(c.text for c in chunks) == f"You said: {TEXT}"
    assert chunks[-1].chunk_position == "last"


def test_pieces_are_yielded_before_the_answer_is_complete() -> None:
    with LiaobotsEmulator(piece_bytes=4, pace=0.4) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="k")
        stream = llm.stream("abcdefgh")
        first = next(stream)
        assert first.text == "You "
        assert server.answers_completed == 0
        rest = "".join(c.text for c in stream)
        assert first.text + rest == "You said: abcdefgh"
        assert server.answers_completed == 1


async def test_async_pieces_are_yielded_before_the_answer_is_complete() -> None:
    with LiaobotsEmulator(piece_bytes=4, pace=0.4) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="k")
        stream = llm.astream("abcdefgh")
        first = await anext(stream)
        assert first.text == "You "
        assert server.answers_completed == 0
        rest = "".join([c.text async for c in stream])
        assert first.text + rest == "You said: abcdefgh"
        assert server.answers_completed == 1


def test_payload_on_the_wire(fresh_emulator: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(
        base_url=fresh_emulator.base_url, api_key="wire-code", model="gpt-3.5-turbo"
    )
    llm.invoke(
        [
            SystemMessage("be terse"),
            HumanMessage("q1"),
            AIMessage("a1"),
            HumanMessage("q2"),
        ]
    )
    (received,) = fresh_emulator.requests
    assert received.path == "/api/chat"
    assert received.headers["x-auth-code"] == "wire-code"
    assert received.headers["origin"] == fresh_emulator.base_url
    assert received.headers["referer"] == fresh_emulator.base_url + "/"
    assert received.payload is not None
    assert received.payload["model"] == {
        "id": "gpt-3.5-turbo",
        "name": "GPT-3.5",
        "maxLength": 12000,
        "tokenLimit": 4000,
    }
    assert received.payload["prompt"] == "be terse"
    assert [m["role"] for m in received.payload["messages"]] == [
        "user",
        "assistant",
        "user",
    ]


def test_stop_sequence_closes_the_answer(llm: ChatLiaobots) -> None:
    assert llm.invoke("one two three", stop=["two"]).content == "You said: one "
    chunks = list(llm.stream("one two three", stop=["tw"]))
    assert "".join(c.text for c in chunks) == "You said: one "
    assert chunks[-1].chunk_position == "last"
    with_default = ChatLiaobots(base_url=llm.base_url, auth="k", stop=["three"])
    assert with_default.invoke("one two three").content == "You said: one two "
    assert (
        with_default.invoke("one two three", stop=[]).content
        == "You said: one two three"
    )


def test_per_call_model_override(
    llm: ChatLiaobots, fresh_emulator: LiaobotsEmulator
) -> None:
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    msg = llm.invoke("hi", model="gpt-3.5-turbo")
    assert msg.response_metadata["model_name"] == "gpt-3.5-turbo"
    assert fresh_emulator.requests[0].payload["model"]["id"] == "gpt-3.5-turbo"


def test_refused_code_is_an_authentication_error() -> None:
    with LiaobotsEmulator(auth_codes={"good"}) as server:
        assert ChatLiaobots(base_url=server.base_url, auth="good").invoke("x").content
        bad = ChatLiaobots(base_url=server.base_url, auth="bad", max_retries=0)
        with pytest.raises(ModelAuthenticationError, match="HTTP 401") as err:
            bad.invoke("x")
        assert "bad" not in str(err.value)
        assert len(server.requests) == 2


async def test_async_refused_code_is_an_authentication_error() -> None:
    with LiaobotsEmulator(auth_codes={"good"}) as server:
        bad = ChatLiaobots(base_url=server.base_url, auth="bad")
        with pytest.raises(LiaobotsAuthenticationError, match="HTTP 401"):
            await bad.ainvoke("x")
        assert len(server.requests) == 1


def test_missing_code_fails_before_sending(
    fresh_emulator: LiaobotsEmulator, monkeypatch
) -> None:
    monkeypatch.delenv("LIAOBOTS_AUTH_CODE", raising=False)
    llm = ChatLiaobots(base_url=fresh_emulator.base_url)
    with pytest.raises(ModelAuthenticationError, match="LIAOBOTS_AUTH_CODE"):
        llm.invoke("x")
    assert fresh_emulator.requests == []


def test_overflow_and_unknown_model_fail_before_sending(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(
        base_url=fresh_emulator.base_url, auth="k", model="gpt-3.5-turbo"
    )
    with pytest.raises(ContextOverflowError, match="drop the oldest 1 of 1"):
        llm.invoke("x y " * 2000)  # 4,000 tokens: over tokenLimit less 1,000
    llm.invoke("x" * 12001)  # maxLength is the web UI's; the server takes it
    with pytest.raises(ValueError, match=r"Known models: .*gpt-4"):
        llm.invoke("x", model="nope")
    assert len(fresh_emulator.requests) == 1


def test_lcel_chain_streams(llm: ChatLiaobots) -> None:
    chain = (
        ChatPromptTemplate.from_messages([("system", "sys"), ("human", "{q}")])
        | llm
        | StrOutputParser()
    )
    assert "".join(chain.stream({"q": "chain"})) == "You said: chain"


def test_emulator_rejects_malformed_bodies_with_400(emulator: LiaobotsEmulator) -> None:
    import requests

    resp = requests.post(
        emulator.base_url + "/api/chat",
        data=b"{}",
        headers={"x-auth-code": "k"},
        timeout=5,
    )
    assert resp.status_code == 400
    assert "missing field(s)" in resp.json()["error"]


def test_secret_never_in_repr_params_or_dump(llm: ChatLiaobots) -> None:
    from langchain_core.load import dumpd

    llm = ChatLiaobots(base_url=llm.base_url, auth=SecretStr("s3cr3t-code"))
    assert "s3cr3t-code" not in repr(llm)
    assert "s3cr3t-code" not in str(llm._identifying_params)
    assert "s3cr3t-code" not in json.dumps(dumpd(llm))
    assert "s3cr3t-code" not in str(llm._get_ls_params())


def test_real_or_emulated_picks_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_liaobots.emulator import real_or_emulated

    said: list[str] = []
    monkeypatch.delenv("LIAOBOTS_AUTH_CODE", raising=False)
    with real_or_emulated(announce=said.append) as settings:
        assert set(settings) == {"base_url", "auth"}
        assert ChatLiaobots(**settings).invoke("offline").content == "You said: offline"
    assert said[0].startswith("LIAOBOTS_AUTH_CODE is not set: using the local emulator")
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", "real-code")
    monkeypatch.setenv("LIAOBOTS_BASE_URL", "https://liaobots.example")
    with real_or_emulated(announce=said.append) as settings:
        assert settings == {}
    assert said[1] == "Using the real Liaobots service at https://liaobots.example"
    assert "real-code" not in " ".join(said)
