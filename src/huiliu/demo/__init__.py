"""The demo tenant: realistic, deterministic history seeded through the real services (``huiliu demo``)."""

from huiliu.demo.content import ADMIN_EMAIL, ADMIN_PASSWORD, TENANT_NAME, TENANT_SLUG
from huiliu.demo.seed import DEFAULT_CUSTOMERS, DEFAULT_TICKETS, SeedReport, seed_demo

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_TICKETS",
    "TENANT_NAME",
    "TENANT_SLUG",
    "SeedReport",
    "seed_demo",
]
