"""The demo's history as data: who the customers are and what happens to every ticket, when.

Planning is pure and seeded (``random.Random`` with a fixed string seed), so two runs produce the
same customers, titles, statuses and conversations. Only the timestamps move with "now": tickets
are spread over the last ``HISTORY_DAYS`` days before the moment the seed runs, and scenarios with a
busy weekday (课程退费 on Sunday evenings, 奶茶 complaints on Wednesday afternoons) are moved to the
nearest such weekday, which depends on today's date."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from huiliu.demo import content as c

RANDOM_SEED = "huiliu-demo-v1"
HISTORY_DAYS = 90
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Who performs a step that is not a staff member (staff steps carry the staff e-mail).
ROUTING = "system:routing"
AUTO_CLOSE = "system:auto-close"
CUSTOMER = "customer"

# Relative weight of each local hour (Asia/Shanghai) for incoming requests.
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 11, 9, 9, 11, 11, 10, 9, 8, 9, 10, 9, 6, 3)

# Final status mix by age of the ticket in days: (max_age_exclusive, ((status, weight), ...)).
STATUS_BY_AGE: tuple[tuple[float, tuple[tuple[str, int], ...]], ...] = (
    (2, (("new", 30), ("open", 35), ("pending", 12), ("on_hold", 3), ("resolved", 15), ("closed", 5))),
    (7, (("new", 8), ("open", 25), ("pending", 15), ("on_hold", 7), ("resolved", 25), ("closed", 20))),
    (21, (("new", 1), ("open", 8), ("pending", 6), ("on_hold", 5), ("resolved", 25), ("closed", 55))),
    (float("inf"), (("open", 2), ("pending", 1), ("on_hold", 1), ("resolved", 8), ("closed", 88))),
)

# Tickets younger than this get a detailed history (routing step, notes, follow-ups, waiting for the
# customer); older, finished ones a brief one (routed at intake, answered, resolved, closed). The brief
# form keeps the full seed fast while the weeks people look at in a demo read like real work.
DETAILED_DAYS = 21

# Classification was switched on a week before the seed's moment (it stays on afterwards): requests
# typed freely into a chat or an e-mail since then that are still being handled arrive without a
# category, and the classifier fills it when sure or leaves the ticket in 待分类 triage. Every other
# ticket carries its scenario's taxonomy key, as picked by the agent or the form.
CLASSIFIED_DAYS = 7
FREE_TEXT_CHANNELS = frozenset({"wechat_mp", "wecom_kf", "douyin", "email"})
UNFINISHED = frozenset({"new", "open", "pending"})

# Minutes to the first agent reply by priority: (low, high) bounds of a uniform draw.
FIRST_RESPONSE_MINUTES = {"urgent": (3, 40), "high": (8, 120), "normal": (15, 360), "low": (45, 900)}


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    phone: str
    email: str | None
    wechat_openid: str | None

    def identities(self) -> list[tuple[str, str]]:
        found = [("phone", self.phone)]
        if self.email:
            found.append(("email", self.email))
        if self.wechat_openid:
            found.append(("wechat_openid", self.wechat_openid))
        return found


@dataclass(frozen=True)
class Step:
    """One thing that happens to a ticket after it was created, through one service call."""

    at: datetime
    kind: str  # assign | reply | note | customer | status | tags
    by: str  # staff e-mail, ROUTING, AUTO_CLOSE or CUSTOMER
    body: str = ""
    status: str | None = None
    team: str | None = None
    assignee: str | None = None  # staff e-mail
    tags: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class TicketPlan:
    created_at: datetime
    title: str
    description: str
    channel: str
    priority: str
    category: str | None  # a taxonomy key; None: the classifier decides when the ticket arrives
    scenario: str
    scenario_key: str
    tags: tuple[str, ...]
    customer: int  # index into the customer list
    final_status: str
    created_by: str  # "intake:<channel>" or a staff e-mail (phone calls are typed in by an agent)
    team: str | None = None  # set at creation (phone tickets)
    assignee: str | None = None
    steps: tuple[Step, ...] = field(default_factory=tuple)


# --- customers ----------------------------------------------------------------------------------------


def build_customers(count: int) -> list[CustomerSpec]:
    """``count`` customers with unique, valid-looking (fake) mainland mobile numbers; about a third have
    an e-mail address and about half a WeChat openid."""
    rng = random.Random(f"{RANDOM_SEED}:customers")
    customers: list[CustomerSpec] = []
    phones: set[str] = set()
    emails: set[str] = set()
    while len(customers) < count:
        surname = rng.choice(c.SURNAMES)
        name = surname + rng.choice(c.GIVEN_NAMES)
        phone = rng.choice(c.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if phone in phones:
            continue
        phones.add(phone)
        email = None
        if rng.random() < 0.35:
            local = rng.choice((phone, f"{_letters(rng, 5)}{rng.randrange(10, 9999)}", _letters(rng, 8)))
            candidate = f"{local}@{rng.choice(c.EMAIL_DOMAINS)}"
            if candidate not in emails:
                emails.add(candidate)
                email = candidate
        openid = _openid(rng) if rng.random() < 0.5 else None
        customers.append(CustomerSpec(name=name, phone=phone, email=email, wechat_openid=openid))
    return customers


def _letters(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(size))


def _openid(rng: random.Random) -> str:
    # WeChat OpenIDs are 28 characters starting with "o" (base64url alphabet).
    alphabet = string.ascii_letters + string.digits + "-_"
    return "o" + "".join(rng.choice(alphabet) for _ in range(27))


# --- tickets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """The people steps can be given to (all by e-mail)."""

    leads: dict[str, str]  # team or department name -> lead e-mail
    agents: dict[str, tuple[str, ...]]  # team name -> agent e-mails
    names: dict[str, str]  # e-mail -> display name
    speed: dict[str, float]  # e-mail -> response-time factor (some agents are quicker than others)

    @classmethod
    def from_content(cls) -> Staff:
        leads = {team: person.email for team, person in c.LEADS.items()}
        agents = {team: tuple(p.email for p in people) for team, people in c.AGENTS.items()}
        names = {p.email: p.name for p in c.LEADS.values()}
        names.update({p.email: p.name for people in c.AGENTS.values() for p in people})
        speed: dict[str, float] = {}
        for people in c.AGENTS.values():
            for index, person in enumerate(people):
                speed[person.email] = (0.55, 0.8, 1.0, 1.3, 1.8)[index % 5]
        return cls(leads=leads, agents=agents, names=names, speed=speed)


def plan_tickets(count: int, customers: list[CustomerSpec], now: datetime) -> list[TicketPlan]:
    """``count`` ticket histories ending before ``now``, oldest first (ticket numbers follow this order)."""
    if not customers:
        raise ValueError("the demo needs at least one customer")
    rng = random.Random(f"{RANDOM_SEED}:tickets")
    staff = Staff.from_content()
    weights = [s.weight for s in c.SCENARIOS]
    popularity = _customer_popularity(len(customers))
    plans = [
        _plan_one(rng, rng.choices(c.SCENARIOS, weights)[0], staff, customers, popularity, now)
        for _ in range(count)
    ]
    # Sorting is stable: equal moments keep the order they were drawn in.
    return sorted(plans, key=lambda plan: plan.created_at)


def _customer_popularity(count: int) -> list[float]:
    # A few customers come back often, most once or twice (a long tail, as real service desks see).
    return [1.0 / (1 + index) ** 0.6 for index in range(count)]


def _moment(rng: random.Random, scenario: c.Scenario, now: datetime) -> tuple[datetime, float]:
    """When the request came in, and its age in days as drawn (which decides the final status)."""
    age_days = HISTORY_DAYS * rng.random() ** 1.25  # a little busier recently: the business is growing
    day = int(age_days)
    if scenario.busy_hours and rng.random() < 0.6:
        hour = rng.choice(scenario.busy_hours)
    else:
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    minute, second = rng.randrange(60), rng.randrange(60)
    local_now = now.astimezone(SHANGHAI)
    date = local_now.date() - timedelta(days=day)
    if scenario.busy_weekdays and rng.random() < 0.7:
        target = rng.choice(scenario.busy_weekdays)
        date -= timedelta(days=(date.weekday() - target) % 7)
    moment = datetime(date.year, date.month, date.day, hour, minute, second, tzinfo=SHANGHAI)
    latest = now - timedelta(minutes=20)
    if moment > latest:
        # Drawn for today but later than now: place it within the last few hours instead.
        moment = latest - timedelta(minutes=minute * 5, seconds=second)
    return moment.astimezone(now.tzinfo), age_days


def _final_status(rng: random.Random, age_days: float) -> str:
    for limit, mix in STATUS_BY_AGE:
        if age_days < limit:
            return rng.choices([s for s, _ in mix], [w for _, w in mix])[0]
    raise AssertionError("unreachable: the last bucket has no limit")


def _slots(rng: random.Random, scenario: c.Scenario, customer_phone: str) -> tuple[dict[str, str], str]:
    """Values for the ``{slot}`` markers of one ticket, and the team that handles it."""
    team = scenario.team
    if team == c.REGIONAL:
        south = rng.random() < 0.5
        team = "华南维修组" if south else "华东维修组"
        city = rng.choice(c.SOUTH_CITIES if south else c.EAST_CITIES)
    else:
        city = rng.choice(c.SOUTH_CITIES + c.EAST_CITIES + c.OTHER_CITIES)
    values = {
        "order": rng.choice(c.ORDER_PREFIXES) + f"{rng.randrange(10**13, 10**14)}",
        "tracking": rng.choice(("SF", "YT", "ZTO", "JDX")) + f"{rng.randrange(10**11, 10**12)}",
        "amount": f"¥{rng.choice((39, 59, 88, 129, 199, 268, 399, 468, 899, 1299, 2680, 4999))}.00",
        "date": rng.choice(("昨天", "前天", "上周五", "这周一", "上周末", "三天前", "下周三", "本周六")),
        "city": city,
        "store": rng.choice(c.STORES),
        "sn": "SN" + "".join(rng.choice("0123456789ABCDEF") for _ in range(10)),
        "phone_tail": customer_phone[-4:],
    }
    for name, options in scenario.slots.items():
        values[name] = rng.choice(options)
    return values, team


def _render(rng: random.Random, options: tuple[str, ...], values: dict[str, str]) -> str:
    return rng.choice(options).format_map(values)


def _plan_one(
    rng: random.Random,
    scenario: c.Scenario,
    staff: Staff,
    customers: list[CustomerSpec],
    popularity: list[float],
    now: datetime,
) -> TicketPlan:
    created_at, age_days = _moment(rng, scenario, now)
    customer = rng.choices(range(len(popularity)), popularity)[0]
    final = _final_status(rng, age_days)
    channel = rng.choice(scenario.channels)
    priority = rng.choices([p for p, _ in scenario.priorities], [w for _, w in scenario.priorities])[0]
    values, team = _slots(rng, scenario, customers[customer].phone)
    agent = rng.choice(staff.agents[team])
    values["agent"] = staff.names[agent]
    case = rng.randrange(len(scenario.descriptions))
    title = rng.choice(scenario.titles[case].split("|")).format_map(values)
    description = scenario.descriptions[case].format_map(values)
    tags = tuple(rng.sample(scenario.tags, k=min(len(scenario.tags), rng.choice((1, 2, 2, 3)))))
    life = _Life(rng, scenario, staff, values, created_at, team, agent, priority)
    brief = age_days >= DETAILED_DAYS and final in {"resolved", "closed"}
    created_by = agent if channel == "phone" else f"intake:{channel}"
    if channel == "phone" or brief:
        # Phone calls are typed in by the agent who took them; older tickets were routed at intake.
        plan_team, plan_assignee = team, agent
        steps = life.build_brief(final) if brief else life.build(final, routed=True)
    else:
        plan_team, plan_assignee = None, None
        steps = life.build(final, routed=False)
    steps = _fit_before(steps, created_at, now - timedelta(minutes=1))
    return TicketPlan(
        created_at=created_at,
        title=title,
        description=description,
        channel=channel,
        priority=priority,
        category=None if _left_to_the_classifier(channel, age_days, final) else scenario.category,
        scenario=scenario.scenario,
        scenario_key=scenario.key,
        tags=tags,
        customer=customer,
        final_status=final,
        created_by=created_by,
        team=plan_team,
        assignee=plan_assignee,
        steps=tuple(steps),
    )


def _left_to_the_classifier(channel: str, age_days: float, final: str) -> bool:
    return channel in FREE_TEXT_CHANNELS and age_days < CLASSIFIED_DAYS and final in UNFINISHED


def _fit_before(steps: list[Step], start: datetime, limit: datetime) -> list[Step]:
    """Compress a ticket's history proportionally so its last step happens before ``limit``."""
    if not steps or steps[-1].at <= limit:
        return steps
    span = (steps[-1].at - start).total_seconds()
    room = max((limit - start).total_seconds(), 1.0)
    factor = room / span
    fitted = []
    for index, step in enumerate(steps):
        # Keep strictly increasing moments (one second apart at least) so the timeline order holds.
        at = start + timedelta(seconds=(step.at - start).total_seconds() * factor)
        at = max(at, start + timedelta(seconds=index + 1))
        fitted.append(replace(step, at=at))
    return fitted


class _Life:
    """Builds the steps of one ticket's life up to its final status."""

    def __init__(
        self,
        rng: random.Random,
        scenario: c.Scenario,
        staff: Staff,
        values: dict[str, str],
        created_at: datetime,
        team: str,
        agent: str,
        priority: str,
    ) -> None:
        self.rng, self.scenario, self.staff, self.values = rng, scenario, staff, values
        self.t, self.team, self.agent, self.priority = created_at, team, agent, priority
        self.steps: list[Step] = []

    def later(self, low_minutes: float, high_minutes: float) -> datetime:
        self.t += timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))
        return self.t

    def say(self, options: tuple[str, ...]) -> str:
        return _render(self.rng, options, {**self.values, "agent": self.staff.names[self.agent]})

    def add(self, **step: object) -> None:
        self.steps.append(Step(**step))  # type: ignore[arg-type]

    def build(self, final: str, *, routed: bool) -> list[Step]:
        rng = self.rng
        if final == "new":
            self._still_new(routed)
            return self.steps
        if not routed:
            self.add(
                at=self.later(0.5, 15),
                kind="assign",
                by=ROUTING,
                team=self.team,
                assignee=self.agent,
                reason=f"按场景自动分派:{self.scenario.label} → {self.team}",
            )
        low, high = FIRST_RESPONSE_MINUTES[self.priority]
        speed = self.staff.speed[self.agent]
        self.add(
            at=self.later(low * speed, high * speed),
            kind="reply",
            by=self.agent,
            body=self.say(c.AGENT_ACK if rng.random() < 0.35 else self.scenario.replies),
        )
        if rng.random() < 0.45:
            self.add(at=self.later(5, 90), kind="note", by=self.agent, body=self.say(self.scenario.notes))
        for _ in range(rng.choice((0, 1, 1, 2))):
            self.add(
                at=self.later(20, 600),
                kind="customer",
                by=CUSTOMER,
                body=self.say(self.scenario.follow_ups + c.CUSTOMER_CHASERS),
            )
            self.add(
                at=self.later(5, 240 * speed),
                kind="reply",
                by=self.agent,
                body=self.say(self.scenario.replies),
            )
        if rng.random() < 0.07:
            self._transfer()
        if final != "pending" and rng.random() < 0.25:
            self._wait_for_customer()
            self.add(
                at=self.later(60, 1800), kind="customer", by=CUSTOMER, body=self.say(c.CUSTOMER_INFO_REPLIES)
            )
        if final == "pending":
            self._wait_for_customer()
            return self.steps
        if final == "on_hold":
            self.add(
                at=self.later(10, 240),
                kind="status",
                by=self.agent,
                status="on_hold",
                reason=rng.choice(c.HOLD_REASONS),
            )
            return self.steps
        if final == "open":
            return self.steps
        if rng.random() < 0.3:
            self.add(at=self.later(1, 60), kind="tags", by=self.agent, tags=(rng.choice(c.LATER_TAGS),))
        self._resolve()
        if rng.random() < 0.05:
            self.add(at=self.later(600, 4000), kind="customer", by=CUSTOMER, body=self.say(c.CUSTOMER_REOPEN))
            self.add(
                at=self.later(10, 180), kind="reply", by=self.agent, body=self.say(self.scenario.replies)
            )
            self._resolve()
        if final == "closed":
            self._close()
        return self.steps

    def build_brief(self, final: str) -> list[Step]:
        rng = self.rng
        low, high = FIRST_RESPONSE_MINUTES[self.priority]
        speed = self.staff.speed[self.agent]
        if rng.random() < 0.4:
            # Answered and solved in one touch.
            self.add(
                at=self.later(low * speed, high * speed),
                kind="reply",
                by=self.agent,
                body=self.say(self.scenario.resolutions),
            )
            self.add(
                at=self.later(0.2, 3), kind="status", by=self.agent, status="resolved", reason="一次解决"
            )
        else:
            self.add(
                at=self.later(low * speed, high * speed),
                kind="reply",
                by=self.agent,
                body=self.say(self.scenario.replies),
            )
            if rng.random() < 0.25:
                self.add(
                    at=self.later(20, 600),
                    kind="customer",
                    by=CUSTOMER,
                    body=self.say(self.scenario.follow_ups + c.CUSTOMER_CHASERS),
                )
            if rng.random() < 0.1:
                self.add(at=self.later(5, 90), kind="note", by=self.agent, body=self.say(self.scenario.notes))
            self._resolve()
        if final == "closed":
            self._close()
        return self.steps

    def _close(self) -> None:
        if self.rng.random() < 0.7:
            self.add(
                at=self.later(2880, 2900),
                kind="status",
                by=AUTO_CLOSE,
                status="closed",
                reason="已解决满 48 小时,客户未再反馈,自动关闭",
            )
        else:
            self.add(
                at=self.later(30, 1440),
                kind="status",
                by=self.agent,
                status="closed",
                reason="客户确认问题已解决",
            )

    def _still_new(self, routed: bool) -> None:
        draw = self.rng.random()
        if not routed and draw < 0.55:
            assignee = self.agent if draw < 0.2 else None
            self.add(
                at=self.later(0.5, 15),
                kind="assign",
                by=ROUTING,
                team=self.team,
                assignee=assignee,
                reason=f"按场景自动分派:{self.scenario.label} → {self.team}",
            )
        if self.rng.random() < 0.3:
            self.add(at=self.later(30, 600), kind="customer", by=CUSTOMER, body=self.say(c.CUSTOMER_CHASERS))

    def _transfer(self) -> None:
        rng = self.rng
        lead = self.staff.leads[self.team]
        if self.scenario.scenario == "aftersales" and self.team == "售后组" and rng.random() < 0.5:
            team = "投诉处理组"
            reason = "客户情绪激动,升级到投诉处理组"
        else:
            team = self.team
            reason = "工作量均衡,组长转派"
        others = [a for a in self.staff.agents[team] if a != self.agent]
        previous = self.staff.names[self.agent]
        self.agent = rng.choice(others)
        self.add(
            at=self.later(10, 300), kind="assign", by=lead, team=team, assignee=self.agent, reason=reason
        )
        self.team = team
        self.add(
            at=self.later(1, 30),
            kind="note",
            by=self.agent,
            body=_render(rng, c.TRANSFER_NOTES, {**self.values, "agent": previous}),
        )

    def _wait_for_customer(self) -> None:
        self.add(at=self.later(5, 120), kind="reply", by=self.agent, body=self.say(c.AGENT_ASK_INFO))
        self.add(
            at=self.later(0.2, 2),
            kind="status",
            by=self.agent,
            status="pending",
            reason=self.rng.choice(c.PENDING_REASONS),
        )

    def _resolve(self) -> None:
        self.add(
            at=self.later(30, 2880), kind="reply", by=self.agent, body=self.say(self.scenario.resolutions)
        )
        self.add(at=self.later(0.2, 3), kind="status", by=self.agent, status="resolved", reason="问题已解决")
