"""Intake: entry points and (later) the pipeline that turns inbound messages into tickets."""
