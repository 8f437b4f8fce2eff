"""LangGraph: a hand-built tool-calling graph, streaming the model's tokens.

The graph is the classic loop — a ``model`` node (``ChatLiaobots`` with tools
bound), a ``tools`` node (LangGraph's ``ToolNode``) and ``tools_condition``
routing between them — streamed with ``stream_mode="messages"`` so tool calls
and the final answer's text are printed as they arrive.

Runs against the real Liaobots service when ``LIAOBOTS_AUTH_CODE`` is set,
otherwise against an embedded local Liaobots-compatible server whose
deterministic responder calls the tool the question names, then reports its
result.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import real_or_emulated

QUESTION = "Please multiply 6 by 7."


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def build_graph(llm: ChatLiaobots) -> Any:
    """Compile the model ⇄ tools loop."""
    model = llm.bind_tools([multiply])

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode([multiply]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    return graph.compile()


def main() -> None:
    """Run the graph on one question, printing tokens and tool traffic."""
    with real_or_emulated(pace=0.01, piece_bytes=4) as settings:
        llm = ChatLiaobots(**settings)
        print(f"[user] {QUESTION}")
        inputs = {"messages": [HumanMessage(QUESTION)]}
        answering = False
        for message, _ in build_graph(llm).stream(inputs, stream_mode="messages"):
            if isinstance(message, AIMessageChunk):
                for call in message.tool_call_chunks:
                    print(f"[model] calls {call['name']}({call['args']})")
                if message.text:
                    if not answering:
                        print("[model] ", end="")
                        answering = True
                    print(message.text, end="", flush=True)
            elif isinstance(message, ToolMessage):
                print(f"[tools] {message.name} -> {message.content}")
        print()


if __name__ == "__main__":
    main()
