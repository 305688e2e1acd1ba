"""Ticket templates (工单模板): versioned field schemas, their validation and the industry presets."""
