"""Similar-ticket detection: which open tickets of the tenant (in the caller's data scope) read most
like a given one.

Candidates come from one index-backed query (``ix_tickets_status_created``: the open statuses, the
last ``WINDOW_DAYS`` days, newest ``MAX_CANDIDATES`` first); each is compared by TF-IDF cosine over
character bigrams of its CJK text and whole words of its Latin/digit text (``shingles``), with the
document frequencies of the candidate set. Bigrams need no dictionary and survive typos; the
classifier's vocabulary is not needed, so similar tickets work before any model is trained.
Measured in ``bench/kb.py`` (docs/benchmarks.md)."""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets.models import Ticket

OPEN_STATUSES: tuple[str, ...] = ("new", "open", "pending", "on_hold")
WINDOW_DAYS = 90
MAX_CANDIDATES = 500
TEXT_CHARS = 600
MIN_SCORE = 0.15
DEFAULT_LIMIT = 3

_RUNS = re.compile(r"[0-9a-z]+|[^\W0-9a-z_]+")
_TAG = re.compile(r"<[^>]+>")


def shingles(text: str) -> Counter[str]:
    """Character bigrams of the CJK runs and whole words of the Latin/digit runs of ``text``."""
    features: Counter[str] = Counter()
    for run in _RUNS.findall(text.lower()):
        if run.isascii():
            if len(run) > 1:
                features[run] += 1
        elif len(run) == 1:
            features[run] += 1
        else:
            for index in range(len(run) - 1):
                features[run[index : index + 2]] += 1
    return features


def ticket_text(title: str, description: str) -> str:
    return f"{title} {title} {_TAG.sub(' ', description)[:TEXT_CHARS]}"


def _weights(features: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {term: (1 + math.log(count)) * idf.get(term, 0.0) for term, count in features.items()}
    norm = math.sqrt(sum(value * value for value in vector.values()))
    return {term: value / norm for term, value in vector.items()} if norm else {}


def rank(
    query: str, candidates: Sequence[tuple[Any, str]], limit: int, min_score: float = MIN_SCORE
) -> list[tuple[Any, float]]:
    """The ``limit`` candidates (key, text) most similar to ``query`` by TF-IDF cosine, at least
    ``min_score``, best first."""
    query_features = shingles(query)
    if not query_features or not candidates:
        return []
    documents = [(key, shingles(text)) for key, text in candidates]
    frequency: Counter[str] = Counter()
    for _, features in documents:
        frequency.update(features.keys())
    total = len(documents) + 1
    idf = {
        term: math.log((1 + total) / (1 + frequency[term] + 1)) + 1
        for term in set(frequency) | set(query_features)
    }
    query_vector = _weights(query_features, idf)
    scored = []
    for key, features in documents:
        vector = _weights(features, idf)
        score = sum(weight * vector.get(term, 0.0) for term, weight in query_vector.items())
        if score >= min_score:
            scored.append((key, round(score, 4)))
    scored.sort(key=lambda pair: -pair[1])
    return scored[:limit]


@dataclass(frozen=True)
class SimilarTicket:
    id: uuid.UUID
    number: int
    title: str
    status: str
    priority: str
    assignee_id: uuid.UUID | None
    created_at: Any
    score: float


async def similar_tickets(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, limit: int = DEFAULT_LIMIT
) -> list[SimilarTicket]:
    """The open tickets most like ``ticket_id`` among those the actor sees (NotFound when the actor
    does not see the ticket itself)."""
    ticket = await ticket_queries.get_visible_ticket(session, actor, ticket_id)
    where = [
        Ticket.status.in_(OPEN_STATUSES),
        Ticket.created_at >= utcnow() - timedelta(days=WINDOW_DAYS),
        Ticket.id != ticket.id,
        Ticket.merged_into_id.is_(None),
    ]
    scope = ticket_queries.scope_clause(actor)
    if scope is not None:
        where.append(scope)
    rows = (
        await session.execute(
            select(
                Ticket.id,
                Ticket.number,
                Ticket.title,
                Ticket.description,
                Ticket.status,
                Ticket.priority,
                Ticket.assignee_id,
                Ticket.created_at,
            )
            .where(*where)
            .order_by(Ticket.created_at.desc())
            .limit(MAX_CANDIDATES)
        )
    ).all()
    by_id = {row.id: row for row in rows}
    ranked = rank(
        ticket_text(ticket.title, ticket.description),
        [(row.id, ticket_text(row.title, row.description)) for row in rows],
        limit,
    )
    return [
        SimilarTicket(
            id=key,
            number=by_id[key].number,
            title=by_id[key].title,
            status=by_id[key].status,
            priority=by_id[key].priority,
            assignee_id=by_id[key].assignee_id,
            created_at=by_id[key].created_at,
            score=score,
        )
        for key, score in ranked
    ]
