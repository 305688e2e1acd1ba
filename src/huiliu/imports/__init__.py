"""Bulk imports (CSV/XLSX) run as background jobs with progress and a row-level error report."""
