"""Analytics: per-ticket facts kept up to date from the audit events, metrics and dashboard views."""
