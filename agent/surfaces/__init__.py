"""Where people and other systems reach the agent: the CLI, the ASGI server, Slack, webhooks.

The only package that builds graphs (`graphs/`); everything else in `agent/` is the library
the graphs are made of, and must not import them.
"""
