"""Wiring: the reactors every process installs on its database, in order, and the timer handlers
they register (docs/decisions/0015). The API (``huiliu.app``) and the worker's timer sweeper
(``huiliu.worker.timers``) both call ``install_reactors`` so a change reacts the same wherever it is
made.

Order matters: event triggers first (a rule may assign, tag or re-prioritise), then workflows (a
template's workflow starts, sub-tasks and handling steps move runs on; decision 0025), then routing
(new tickets no rule or workflow step assigned go to the tenant's default policy), then SLA (clocks
start, pause and move after rules and routing changed the ticket), then replies owed to WeChat /
WeCom customers (an outbox row per public agent message, whoever wrote it)."""

from __future__ import annotations

from huiliu.automation.reactor import install as install_automation
from huiliu.channels.tencent.replies import ChannelReplies
from huiliu.db.session import Database
from huiliu.intelligence.triage import install as install_classification
from huiliu.routing.reactor import install as install_routing
from huiliu.settings import Settings
from huiliu.sla.reactor import install as install_sla
from huiliu.workflows.reactor import install as install_workflows


def install_reactors(db: Database, settings: Settings | None = None) -> None:
    """Register every reactor and timer handler on ``db`` (idempotent). Classification runs first so
    rules, routing and SLA see the scenario, category and priority it set (decision 0042)."""
    install_automation(db)
    install_workflows(db)
    install_routing(db)
    install_sla(db)
    if not any(isinstance(reactor, ChannelReplies) for reactor in db.reactors):
        db.reactors.append(ChannelReplies())
    # Last to install, first to run: automation puts itself first when it installs.
    install_classification(db, settings)
