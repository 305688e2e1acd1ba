"""Automation: rules that run on ticket events (triggers) and on the clock (automations).

``automation.domain`` is the pure rule engine: rule definitions as validated data, condition
evaluation with explanations, and action planning. It decides; ``tickets.service`` applies.
"""
