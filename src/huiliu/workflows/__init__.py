"""Workflows: versioned definitions (a graph of handle / approve / condition / parallel + join /
notify / end nodes), the pure engine, runs pinned to a version, approvals and sub-tasks."""
