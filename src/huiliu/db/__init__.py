"""Data layer: engine and sessions, the declarative Base, tenant scoping, migrations."""
