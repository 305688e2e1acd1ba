"""Huiliu benchmarks: HTTP ticket creation and the agent list/detail reads, against a real server.

Run ``python -m bench --help``. Each benchmark starts its own API server (uvicorn, 2 workers) on a
free 127.0.0.1 port with a fresh database, drives it with ``wrk`` and prints percentiles; results
are appended to ``docs/benchmarks.md``. See that file for the method and the numbers."""
