"""Ticket templates' pure rules: the field schema, the condition language and value validation."""

from huiliu.ticket_templates.domain.conditions import Condition, ConditionError, evaluate, parse_condition
from huiliu.ticket_templates.domain.schema import (
    FIELD_TYPES,
    FieldSpec,
    Option,
    SchemaInvalid,
    TemplateSchema,
)
from huiliu.ticket_templates.domain.template import (
    SCENARIOS,
    STATUSES,
    TemplateDefaults,
    check_defaults,
    check_key,
    ticket_scenario,
)
from huiliu.ticket_templates.domain.values import (
    Checked,
    FieldError,
    Invalid,
    coerce,
    display_value,
    load_schema,
    normalize_cn_phone,
    validate_values,
)

__all__ = [
    "FIELD_TYPES",
    "SCENARIOS",
    "STATUSES",
    "Checked",
    "Condition",
    "ConditionError",
    "FieldError",
    "FieldSpec",
    "Invalid",
    "Option",
    "SchemaInvalid",
    "TemplateDefaults",
    "TemplateSchema",
    "check_defaults",
    "check_key",
    "coerce",
    "display_value",
    "evaluate",
    "load_schema",
    "normalize_cn_phone",
    "parse_condition",
    "ticket_scenario",
    "validate_values",
]
