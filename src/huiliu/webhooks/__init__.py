"""Outgoing webhooks: subscriptions and signed delivery of domain events."""
