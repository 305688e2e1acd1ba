"""Tenant provisioning: the one use case that sets up every package for a new tenant."""
