"""The roster: one snapshot of agents, indexed once for many decisions. Decisions walk its flat
per-agent lists (presence, shift slot, room under the cap, load) rather than the agent objects, so a
decision over 500 agents stays well under a millisecond."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from huiliu.routing.domain.agents import AgentState, Presence, RoutingError, Shift

# Weighted loads are kept for this many distinct weight vectors (policies rarely differ in weights).
_MAX_CACHED_WEIGHTS = 16


class Roster:
    """Agents by position, with indexes by id and by team. Shifts are interned: agents with equal
    shifts share a slot, so a decision checks each distinct shift once. Build one per snapshot and
    reuse it; it is never changed after it is built, except for a memo of weighted loads."""

    __slots__ = (
        "_weighted",
        "agents",
        "by_team",
        "id_keys",
        "index",
        "last_assigned_us",
        "presence",
        "room",
        "shift_slots",
        "shifts",
    )

    def __init__(self, agents: Iterable[AgentState]) -> None:
        self.agents: tuple[AgentState, ...] = tuple(agents)
        self.index: dict[UUID, int] = {}
        by_team: dict[UUID, list[int]] = {}
        slots: dict[tuple[object, ...], int] = {}
        shifts: list[Shift] = []
        self.shift_slots: list[int] = []  # -1: always on shift
        self.presence: list[Presence] = []
        self.room: list[int | None] = []  # open tickets the cap still allows; None: no cap
        self.id_keys: list[int] = []  # the id as an int: ties break on it (as UUIDs order)
        self.last_assigned_us: list[int] = []
        for i, agent in enumerate(self.agents):
            if agent.id in self.index:
                raise RoutingError(f"agent {agent.id} is listed twice")
            self.index[agent.id] = i
            for team in agent.teams:
                by_team.setdefault(team, []).append(i)
            if agent.shift.always:
                self.shift_slots.append(-1)
            else:
                slot = slots.setdefault(agent.shift.key, len(slots))
                if slot == len(shifts):
                    shifts.append(agent.shift)
                self.shift_slots.append(slot)
            self.presence.append(agent.presence)
            self.room.append(None if agent.capacity is None else agent.capacity - agent.open_total)
            self.id_keys.append(agent.id.int)
            self.last_assigned_us.append(agent.last_assigned_us)
        self.by_team: dict[UUID, tuple[int, ...]] = {team: tuple(ids) for team, ids in by_team.items()}
        self.shifts: tuple[Shift, ...] = tuple(shifts)
        self._weighted: dict[tuple[float, ...], list[float]] = {}

    def __len__(self) -> int:
        return len(self.agents)

    def weighted_loads(self, weights: tuple[float, ...]) -> list[float]:
        """Every agent's open load weighted by priority (``weights`` in ``PRIORITIES`` order)."""
        loads = self._weighted.get(weights)
        if loads is None:
            if len(self._weighted) >= _MAX_CACHED_WEIGHTS:
                self._weighted.clear()
            loads = self._weighted[weights] = [agent.weighted_load(weights) for agent in self.agents]
        return loads
