"""XML of Tencent callbacks, parsed safely: no DTDs, no entities, no external references (XXE and
entity expansion bombs are refused, never resolved), and a size limit checked before parsing."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from huiliu.core.errors import HuiliuError

MAX_DEPTH = 4


class MalformedXml(HuiliuError):
    status = 400
    slug = "malformed-xml"
    title = "The body is not an acceptable XML message"


def _value(element: Element, depth: int) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    if depth >= MAX_DEPTH:
        raise MalformedXml("the XML is nested too deeply")
    values: dict[str, Any] = {}
    for child in children:
        value = _value(child, depth + 1)
        if child.tag in values:
            existing = values[child.tag]
            values[child.tag] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            values[child.tag] = value
    return values


def parse_xml(body: bytes) -> dict[str, Any]:
    """The children of the ``<xml>`` root as a dict (text, or a dict for nested elements, a list for
    repeated ones). MalformedXml for anything else, including every DTD and entity declaration."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedXml(f"the body is not acceptable XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise MalformedXml("the root element is not <xml>")
    value = _value(root, 0)
    return value if isinstance(value, dict) else {}


def text(fields: dict[str, Any], name: str) -> str | None:
    """A text field, None when absent or empty."""
    value = fields.get(name)
    return value if isinstance(value, str) and value else None
