"""``accounts.review_requested``: what an account manager reported that moves a score (a change request, a contact
level) waits for a KA supervisor — the owner's supervisor hears of it in the inbox, the requester never does."""

from __future__ import annotations

from shared.clock import FrozenClock
from shared.events import ReviewRequested
from tests.notifications.helpers import (
    LI,
    MORNING,
    WANG,
    account_event,
    apply,
    inbox_of,
    notifications_app,
    user_events,
)
from tests.support import running


async def test_the_owners_supervisor_is_told_in_chinese_and_the_requester_is_not(sqlite_database):
    app = notifications_app(await sqlite_database("n"), clock=FrozenClock(MORNING))
    async with running(app) as client:
        account = account_event(MORNING)
        await apply(app, *user_events(MORNING), account)
        review = ReviewRequested(
            source="scoring",
            account_id=account.account_id,
            time=MORNING,
            data={
                "review_kind": "contact_level",
                "review_id": "7b0c7a8e-3c39-4f4b-9d1e-4a3f1c2b5d6e",
                "object_type": "contact",
                "requested_by": "am-li",
                "owner_id": "am-li",
                "level": "executive",
            },
        )
        await apply(app, review)
        supervisor = await inbox_of(client, WANG)
        requester = await inbox_of(client, LI)
    [item] = supervisor
    assert (item["kind"], item["object_type"], item["object_id"]) == (
        "accounts.review_requested",
        "contact",
        "7b0c7a8e-3c39-4f4b-9d1e-4a3f1c2b5d6e",
    )
    assert "联系层级" in item["subject"] and "李雷" in item["subject"], item
    assert "高层" in item["body"] and item["link"].endswith(f"/accounts/{account.account_id}")
    assert requester == []
