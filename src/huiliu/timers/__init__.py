"""Per-ticket timers: one due instant per (ticket, kind) in ``ticket_timers``, indexed on
``next_timer_at``, and the sweep that hands due tickets to the handler registered for their kind
(SLA warnings and breaches, time-based rules). See docs/sla.md and docs/decisions/0016."""
