"""Alert rules on analytics metrics: conditions, incidents, firings and their notifications."""
