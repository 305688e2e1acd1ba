"""Shared kernel: ids, clock, errors, events, outbox, pubsub."""
