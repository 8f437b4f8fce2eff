"""The prompt layer: LangChain messages, tools and schemas to prompt text, and back.

:mod:`~langchain_liaobots.prompt.messages` flattens messages into the wire's
roles, :mod:`~langchain_liaobots.prompt.prompting` plans a turn (tool and JSON
instructions), :mod:`~langchain_liaobots.prompt.tools` and
:mod:`~langchain_liaobots.prompt.structured` describe tools and schemas to the
model and read its replies.
"""
