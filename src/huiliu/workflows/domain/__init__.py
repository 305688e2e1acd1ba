"""The pure part of workflows: definition checks (``definition``), branch conditions
(``conditions``) and the engine's step function (``engine``). No I/O."""

from huiliu.workflows.domain.definition import Definition, DefinitionError, Problem, parse_definition

__all__ = ["Definition", "DefinitionError", "Problem", "parse_definition"]
