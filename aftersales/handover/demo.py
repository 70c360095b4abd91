"""The demo team's rota and two weeks of shift diary, written the way the jobs write them.

Three shifts (早班 07:00-15:00, 晚班 15:00-23:00, 夜班 23:00-07:00, Shanghai),
a team of five on a rota from two weeks back to a week ahead, and every
shift change of the last two weeks drafted by ``drafting.draft_due`` at the
time it happened, acknowledged by someone on the incoming shift with
read-backs, with promises made, kept and broken along the way. The shift
change that has just passed is left unacknowledged for the person who
signs in next. Idempotent: a second load adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aftersales.core import clock
from aftersales.core.models import Role, User
from aftersales.core.modules import Registry
from aftersales.handover import drafting, promises, service
from aftersales.handover.models import Handover, HandoverEntry, RotaEntry, Shift

ZONE = "Asia/Shanghai"
SHIFTS = (("早班", 7 * 60, 15 * 60), ("晚班", 15 * 60, 23 * 60), ("夜班", 23 * 60, 7 * 60))
TEAM = (
    ("wang.day", "小王", Role.AGENT),
    ("li.day", "小李", Role.AGENT),
    ("zhao.day", "小赵", Role.AGENT),
    ("chen.night", "夜班小陈", Role.NIGHT_AGENT),
    ("liu.lead", "刘主管", Role.SUPERVISOR),
)
"""The demo's team; they sign in with the demo password (``README``)."""

HISTORY_DAYS = 14
AHEAD_DAYS = 7
PROMISES = (
    "21:00 后给买家回电话，说明退款进度",
    "明早 10 点前把补发的快递单号发给买家",
    "买家要求换大一码，今晚确认库存后回复",
    "答应买家两小时内核实破损照片",
    "退货到仓后第一时间通知买家",
)
NOTES = (
    "仓库今天盘点，退货入库会晚一些。",
    "顺丰下午揽收延迟，已和快递员确认明早补揽。",
    "有位买家情绪较大，已道歉，请接班同事先安抚再处理。",
)


async def team(owner: User) -> list[User]:
    """The demo team, with the owner's password hash: the same demo password, hashed once."""
    people = []
    for username, name, role in TEAM:
        user = await User.get_or_none(username=username)
        if user is None:
            user = await User.create(
                username=username,
                display_name=name,
                password_hash=owner.password_hash,
                role=role,
            )
        people.append(user)
    return people


async def _shifts() -> list[Shift]:
    found = []
    for position, (name, start, end) in enumerate(SHIFTS):
        shift = await Shift.get_or_none(name=name)
        if shift is None:
            shift = await Shift.create(
                name=name, start_minute=start, end_minute=end, time_zone=ZONE, position=position
            )
        found.append(shift)
    return found


async def _rota(shifts: list[Shift], people: list[User], today: date) -> None:
    """Two day agents on the early shift, one on the late with the supervisor, the night agent."""
    early, late, night = shifts
    agents = [p for p in people if p.role is Role.AGENT]
    night_agent = next(p for p in people if p.role is Role.NIGHT_AGENT)
    supervisor = next(p for p in people if p.role is Role.SUPERVISOR)
    rows = []
    existing = set(await RotaEntry.all().values_list("shift_id", "day", "user_id"))
    for offset in range(-HISTORY_DAYS - 1, AHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        turn = offset % len(agents)
        plan = [
            (early, agents[turn]),
            (early, agents[(turn + 1) % len(agents)]),
            (late, agents[(turn + 2) % len(agents)]),
            (late, supervisor),
            (night, night_agent),
        ]
        for shift, user in plan:
            if (shift.id, day, user.id) not in existing:
                rows.append(RotaEntry(shift_id=shift.id, day=day, user_id=user.id))
    await RotaEntry.bulk_create(rows)


async def seed(registry: Registry, owner: User) -> int:
    """Rota and shift diary for the demo; returns how many handovers it wrote."""
    people = await team(owner)
    shifts = await _shifts()
    now = clock.now()
    today = now.astimezone(ZoneInfo(ZONE)).date()
    await _rota(shifts, people, today)
    if await Handover.exists():
        return 0
    changes = drafting.shift_changes(shifts, now - timedelta(days=HISTORY_DAYS), now)
    by_id = {p.id: p for p in people}
    on: dict[str, list[User]] = {}
    for change in changes:
        entries = await RotaEntry.filter(
            shift_id=change.incoming.shift_id, day=change.incoming.day
        ).only("user_id")
        on[change.outgoing.key] = [by_id[e.user_id] for e in entries if e.user_id in by_id]
    written = 0
    for number, change in enumerate(changes):
        end = change.outgoing.end
        outgoing_people = on.get(changes[number - 1].outgoing.key, []) if number else []
        maker = outgoing_people[0] if outgoing_people else people[0]
        if number % 3 == 0 and maker.role in service.ACTORS:
            # A promise made an hour before the end, due two hours into the next shift.
            text = PROMISES[(number // 3) % len(PROMISES)]
            await promises.make(maker, text, end + timedelta(hours=2), now=end - timedelta(hours=1))
        if number == len(changes) - 1:
            # The list waiting now carries two promises the last shift made: read back first.
            for text, hours in ((PROMISES[0], 2), (PROMISES[3], 1)):
                await promises.make(
                    maker, text, end + timedelta(hours=hours), now=end - timedelta(minutes=40)
                )
        # Drafted ahead of the end, a note added to the draft, then frozen at the end.
        await drafting.draft_due(registry, end - timedelta(minutes=10))
        handover = await Handover.get(key=change.outgoing.key)
        if number % 4 == 1:
            await service.add_note(
                handover, maker, NOTES[number % len(NOTES)], at=end - timedelta(minutes=5)
            )
        await drafting.draft_due(registry, end)
        handover = await Handover.get(key=change.outgoing.key)
        written += 1
        if number == len(changes) - 1:
            continue  # the shift change just passed waits for whoever signs in
        incoming = on.get(change.outgoing.key) or [people[0]]
        reader = incoming[0]
        at = end + timedelta(minutes=8)
        # This change's list, and an older one a late first run drafted on the way.
        for handover in await Handover.filter(acknowledged_at=None, window_start__lte=end):
            await _acknowledge(handover, reader, at)
        # Two promises in three are kept by the shift that owes them; the third is broken.
        for promise in await promises.due(end + timedelta(hours=3)):
            if promise.id % 3 and promise.due_at < end + timedelta(hours=3):
                await promises.close(promise, reader, kept=True, note="已回电", at=promise.due_at)
    return written


async def _acknowledge(handover: Handover, reader: User, at: datetime) -> None:
    for entry in await HandoverEntry.filter(handover_id=handover.id, urgent=True):
        await service.acknowledge_item(
            handover, entry, reader, "收到，我来跟进：" + _short(entry), at=at
        )
    await service.acknowledge(handover, reader, at=at + timedelta(minutes=1))


def _short(entry: HandoverEntry) -> str:
    order = entry.params.get("order") or entry.params.get("text") or ""
    return str(order)[:40]
