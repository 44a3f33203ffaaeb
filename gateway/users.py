"""Users, owned by the gateway: created, changed and listed here, and every visible change published as an
``identity.*`` event through the outbox in the same transaction (keyword-only, flush-only)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import Passwords, check_roles, revoke_refresh_tokens
from gateway.models import User, audit_log
from gateway.schemas import UserCreate, UserUpdate
from shared.audit import record_audit
from shared.bus.publish import Publisher
from shared.errors import Conflict, NotFound
from shared.events import UserData, UserDeactivated, UserRegistered, UserUpdated

# ``session.info`` key: the users whose roles or active flag this transaction changed (the runtime forgets their
# cached standing when it commits).
USERS_CHANGED = "kam_users_changed"


def user_data(user: User) -> UserData:
    """The user as every service needs to know them (the data of the identity events)."""
    return UserData(
        user_id=user.user_id,
        display_name=user.name,
        roles=list(user.roles),
        active=user.active,
        email=user.email,
        channels=dict(user.channels or {}),
    )


def _changed(session: AsyncSession, user_id: str) -> None:
    changed: set[str] = session.sync_session.info.setdefault(USERS_CHANGED, set())
    changed.add(user_id)


async def publish_user(
    session: AsyncSession,
    *,
    user: User,
    publisher: Publisher,
    event_type: type[UserRegistered] | type[UserUpdated] | type[UserDeactivated],
) -> None:
    """Publish the user as they are now (in the caller's transaction) and record when."""
    event = await publisher.publish(session, event_type, user_data(user), account_id=None)
    user.published_at = event.time
    _changed(session, user.user_id)


async def create_user(
    session: AsyncSession, *, body: UserCreate, passwords: Passwords, publisher: Publisher, actor_id: str
) -> User:
    """Create a user (409 if the id is taken), publish ``identity.user_registered`` and audit it (``actor_id``)."""
    if await session.get(User, body.user_id) is not None:
        raise Conflict(f"User {body.user_id} already exists")
    now = publisher.clock.now()
    user = User(
        user_id=body.user_id,
        name=body.name,
        password_hash=await passwords.hash(body.password),
        roles=check_roles(body.roles),
        active=True,
        email=body.email,
        channels=dict(sorted(body.channels.items())),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await publish_user(session, user=user, publisher=publisher, event_type=UserRegistered)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor_id,
        action="user.created",
        object_type="user",
        object_id=user.user_id,
        after=_audited(user),
        at=now,
    )
    return user


def _audited(user: User) -> dict[str, object]:
    """What the audit log shows of a user (never the password or its hash)."""
    return user_data(user).model_dump(mode="json", exclude={"user_id"})


async def get_user(session: AsyncSession, *, user_id: str) -> User:
    """One user or 404."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    return user


async def list_users(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[User], int]:
    """Users ordered by id."""
    total = int(await session.scalar(select(func.count()).select_from(User)) or 0)
    rows = await session.scalars(select(User).order_by(User.user_id).limit(limit).offset(offset))
    return list(rows), total


async def update_user(
    session: AsyncSession, *, user: User, body: UserUpdate, passwords: Passwords, publisher: Publisher, actor_id: str
) -> User:
    """Change a user's name, roles, active flag, contact details or password.

    Deactivating or a new password ends their sessions (refresh tokens); a visible change is published —
    ``identity.user_deactivated`` when the user stops being active, ``identity.user_updated`` otherwise — and a
    change that nobody else can see (the password alone) publishes nothing.
    """
    now = publisher.clock.now()
    before = user_data(user)
    if body.name is not None:
        user.name = body.name
    if body.roles is not None:
        user.roles = check_roles(body.roles)
    if "email" in body.model_fields_set:
        user.email = body.email
    if body.channels is not None:
        user.channels = dict(sorted(body.channels.items()))
    if body.active is not None:
        user.active = body.active
    if body.password is not None:
        user.password_hash = await passwords.hash(body.password)
    if body.active is False or body.password is not None:
        await revoke_refresh_tokens(session=session, user_id=user.user_id, now=now)
    user.updated_at = now
    after = user_data(user)
    if after != before:
        event_type = UserDeactivated if before.active and not after.active else UserUpdated
        await publish_user(session, user=user, publisher=publisher, event_type=event_type)
    await session.flush()
    old, new = before.model_dump(mode="json", exclude={"user_id"}), _audited(user)
    if body.password is not None:  # that it changed, never what to
        old["password"], new["password"] = None, "changed"
    if old != new:
        if before.active and not after.active:
            action = "user.deactivated"
        else:
            action = "user.roles_changed" if old["roles"] != new["roles"] else "user.updated"
        await record_audit(
            session,
            audit_log,
            actor_id=actor_id,
            action=action,
            object_type="user",
            object_id=user.user_id,
            before=old,
            after=new,
            at=now,
        )
    return user


async def publish_unpublished_users(session: AsyncSession, *, publisher: Publisher) -> int:
    """Publish once every user who was never published (e.g. created before the gateway published users).

    Each goes out as ``identity.user_registered`` with their current state (an inactive one with
    ``active=false``). Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so that replicas starting together
    publish each user once.
    """
    query = select(User).where(User.published_at.is_(None)).order_by(User.user_id).with_for_update(skip_locked=True)
    pending = list(await session.scalars(query))
    if not pending:
        return 0
    events = await publisher.publish_many(session, UserRegistered, [(None, user_data(u)) for u in pending])
    for user, event in zip(pending, events, strict=True):
        user.published_at = event.time
        _changed(session, user.user_id)
    await session.flush()
    return len(pending)
