"""Live updates for the console: the server-sent event stream and ticket presence."""
