"""Routing: who gets a ticket. Policies (round-robin, least-loaded, skills, region, VIP → senior,
familiar agent) with presence, shifts, capacity caps and a fallback chain; decisions carry their
reason. ``routing.domain`` is the pure decision logic; the ticket service applies its decisions."""
