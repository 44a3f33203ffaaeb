"""HTTP routes of group robots (admin: their addresses carry keys)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.notifications.deps import Admin, HttpClientDep, RobotForAdmin, SettingsDep
from services.notifications.robots import service
from services.notifications.robots.schemas import RobotCreate, RobotRead, RobotTestResult, RobotUpdate
from shared.api import check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(prefix="/notifications/admin/robots", tags=["notifications: robots"], responses=PROBLEM_RESPONSES)


@router.get("", summary="WeCom, DingTalk and Feishu group robots")
async def list_robots(_: Admin, session: SessionDep) -> list[RobotRead]:
    """Every robot (addresses masked, secrets never shown)."""
    return [service.read_robot(robot) for robot in await service.list_robots(session)]


@router.get("/{robot_id}", summary="One robot")
async def get_robot(robot: RobotForAdmin, response: Response) -> RobotRead:
    """A robot with its version as ETag."""
    set_etag(response, robot.version)
    return service.read_robot(robot)


@router.post("", status_code=201, summary="Add a group robot", response_model=RobotRead)
async def create_robot(actor: Admin, body: RobotCreate, session: SessionDep, clock: ClockDep) -> RobotRead:
    """A robot for an account, a team (its code) or everyone (accepts ``Idempotency-Key``)."""
    read = service.read_robot(await service.create_robot(session, body=body, actor=actor, now=clock.now()))
    return read


@router.patch("/{robot_id}", summary="Change a robot (If-Match)")
async def update_robot(
    actor: Admin,
    robot: RobotForAdmin,
    body: RobotUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
) -> RobotRead:
    """Change a robot's name, address, secret, kinds, language or switch it off."""
    check_if_match(request, robot.version)
    robot = await service.update_robot(session, robot=robot, body=body, actor=actor, now=clock.now())
    set_etag(response, robot.version)
    return service.read_robot(robot)


@router.delete("/{robot_id}", status_code=204, summary="Remove a robot")
async def delete_robot(
    actor: Admin, robot: RobotForAdmin, request: Request, session: SessionDep, clock: ClockDep
) -> Response:
    """Remove a robot (``If-Match`` with its ETag)."""
    check_if_match(request, robot.version)
    await service.delete_robot(session, robot=robot, actor=actor, now=clock.now())
    return Response(status_code=204)


@router.post("/{robot_id}/test", summary="Send a test message to a robot now")
async def test_robot(
    robot: RobotForAdmin, client: HttpClientDep, settings: SettingsDep, clock: ClockDep
) -> RobotTestResult:
    """Post a signed test message at once and report what the robot answered."""
    outcome = await service.send_test_message(
        client, robot=robot, console_base_url=settings.console_base_url, now=clock.now()
    )
    return RobotTestResult(ok=outcome.ok, status_code=outcome.status_code, error=outcome.error)
