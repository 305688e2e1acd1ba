"""Tenants, users, teams (department tree), roles with data scopes, login, API keys."""
