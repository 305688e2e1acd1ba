"""Notifications: providers that speak each platform's documented protocol, delivery of the outbox's
``notification`` rows (one delivery per recipient and channel, retried with backoff, dead letters an
admin can retry), the in-app inbox and per-user preferences (channels, quiet hours)."""
