"""Ticket intelligence: a Chinese ticket classifier (scenario, category, priority, sentiment) trained
from the project's own labelled dataset (data/classifier), served by ``POST /api/v1/classify`` and
evaluated by ``huiliu eval``. See docs/intelligence.md."""
