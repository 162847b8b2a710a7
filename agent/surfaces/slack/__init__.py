"""Slack as an approval surface.

- `notify.announcer(settings, services)`: the runner's `on_pause`; posts (or updates) one message per thread.
- `app.build_slack_app(...)`: the bolt listeners behind the buttons and modals.
- `approvers`: who may answer, and as which PagerDuty user.
- `blocks`, `modals`, `asks`: what the message and forms show; `posts`, `refs`: what is stored and carried.
"""
