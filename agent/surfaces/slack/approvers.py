"""Who may answer from Slack, and as which PagerDuty user they act.

A Slack user may approve when their id is in `SLACK_APPROVER_IDS` or they are
in the user group `SLACK_APPROVER_GROUP` (asked on every click, so removing
someone from the group takes effect at once). Neither configured means
nobody: a page is never approved by whoever happens to be in the channel.

Their Slack email (`users.info`, needs `users:read.email`) names the
PagerDuty user whose email goes in `From`, when the account has one;
otherwise the write goes out as the configured default `From`.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agent.approvals import Approver
from agent.config import Settings
from agent.pagerduty.catalog import CatalogCache

log = logging.getLogger(__name__)


class NotAllowed(Exception):
    """This Slack user may not answer approvals."""


class ApproverDirectory:
    def __init__(self, settings: Settings, client: AsyncWebClient, catalog: CatalogCache) -> None:
        self.ids = set(settings.slack_approver_ids)
        self.group = settings.slack_approver_group
        self.client = client
        self.catalog = catalog

    async def may_approve(self, slack_user_id: str) -> bool:
        if slack_user_id in self.ids:
            return True
        if not self.group:
            return False
        try:
            resp = await self.client.usergroups_users_list(usergroup=self.group)
        except SlackApiError as exc:
            log.warning("cannot read approver group %s: %s", self.group, exc.response.get("error"))
            return False
        return slack_user_id in (resp.get("users") or [])

    async def approver(self, slack_user_id: str) -> Approver:
        """The approver for this Slack user, or NotAllowed."""
        if not await self.may_approve(slack_user_id):
            raise NotAllowed(slack_user_id)
        name, email = slack_user_id, None
        try:
            user = (await self.client.users_info(user=slack_user_id)).get("user") or {}
            profile = user.get("profile") or {}
            name = user.get("real_name") or profile.get("real_name") or user.get("name") or name
            email = profile.get("email")
        except SlackApiError as exc:
            log.warning("users.info %s failed: %s", slack_user_id, exc.response.get("error"))
        pd_user = (await self.catalog.get()).user_by_email(email) if email else None
        return Approver(
            name=name,
            source="slack",
            email=pd_user.email if pd_user else None,
            pagerduty_user_id=pd_user.id if pd_user else None,
            slack_user_id=slack_user_id,
        )
