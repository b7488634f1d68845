"""MNS XML on the wire (pure): a safe parser for request bodies and the answer documents.

Requests are parsed with expat directly, refusing any DOCTYPE (so no entity can be declared,
let alone expanded: billion laughs, external entities), bounding depth and element count.
Answers use MNS's default namespace and unprefixed element names: the SDKs look elements up
by local name with minidom, so an `ns0:` prefix would break them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

XMLNS = "http://mns.aliyuncs.com/doc/v1/"
MAX_DEPTH = 8
MAX_ELEMENTS = 20_000


class XmlRefused(ValueError):
    """The body is not a well-formed, harmless XML document."""


@dataclass
class Element:
    """An element by local name (namespaces dropped), its text and its child elements."""

    tag: str
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[Element]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str) -> str | None:
        """The text of the first child `tag`, or None when there is no such child."""
        child = self.find(tag)
        return None if child is None else child.text


def parse(data: bytes) -> Element:
    """Parse a request body; XmlRefused says why it is not acceptable."""
    if not data.strip():
        raise XmlRefused("the body is empty")
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    texts: list[list[str]] = []
    root: list[Element] = []
    count = 0

    def refuse_doctype(*_: object) -> None:
        raise XmlRefused("a DOCTYPE (entity declarations) is not accepted")

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise XmlRefused("the document is too large or too deep")
        element = Element(name.rsplit(" ", 1)[-1])
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)
        texts.append([])

    def end(_name: str) -> None:
        stack.pop().text = "".join(texts.pop())

    def chars(data: str) -> None:
        if texts:
            texts[-1].append(data)

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = refuse_doctype  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlRefused(f"not well-formed XML ({expat.ErrorString(exc.code)})") from exc
    if not root:
        raise XmlRefused("no root element")
    return root[0]


def escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
    )


def document(root: str, fields: list[tuple[str, object]]) -> bytes:
    """`<?xml …?><root xmlns=MNS>` + one child per (tag, value); a value may itself be a
    list of (tag, value) pairs (nested elements)."""
    body = "".join(_render(tag, value) for tag, value in fields)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{XMLNS}">{body}</{root}>'
    ).encode()


def _render(tag: str, value: object) -> str:
    if isinstance(value, list):
        return f"<{tag}>{''.join(_render(t, v) for t, v in value)}</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def error_document(code: str, message: str, request_id: str, host_id: str) -> bytes:
    return document(
        "Error",
        [("Code", code), ("Message", message), ("RequestId", request_id), ("HostId", host_id)],
    )
