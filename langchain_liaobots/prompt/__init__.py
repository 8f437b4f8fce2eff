"""The prompt layer: LangChain messages, tools and schemas to prompt text, and back.

`messages` flattens messages into the wire's
roles, `prompting` plans a turn (tool and JSON
instructions), `tools` and
`structured` describe tools and schemas to the
model and read its replies.
"""
