"""WebDAV (RFC 4918) without the network: paths and hrefs, the headers that steer COPY and MOVE,
and the XML of PROPFIND, PROPPATCH and multistatus answers.

Request bodies are parsed as UTF-8 only, with the standard library's expat, within MAX_XML_BODY
bytes, nested at most MAX_XML_DEPTH deep: a first pass refuses any DOCTYPE (so no entity can be
defined, and none expand, whatever encoding a body claims or seems to have) and the depth, then
ElementTree builds the tree.
Property values are kept as the XML they were sent as (text escaped, child elements serialised
with their own namespace declarations), so they come back well-formed whatever namespaces they
use. Answers are written by hand: every property element declares its own namespace, which is
how a property in no namespace (`xmlns=""`) stays in none.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import quote, unquote, urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from edgefiles.domain import paths

DAV_NS = "DAV:"
PREFIX = "/dav"
MAX_XML_BODY = 256 * 1024
MAX_XML_DEPTH = 64
MAX_PROPERTY_VALUE = 16 * 1024  # characters of one dead property's XML
MAX_OWNER = 4 * 1024  # characters of a lock's owner
MAX_ASKED = 300  # properties one PROPFIND may name
# Properties of a resource the server computes; PROPPATCH may not change them.
LIVE = (
    "creationdate",
    "displayname",
    "getcontentlength",
    "getcontenttype",
    "getetag",
    "getlastmodified",
    "resourcetype",
    "supportedlock",
    "lockdiscovery",
    "quota-available-bytes",
    "quota-used-bytes",
)
OWNCLOUD_NS = "http://owncloud.org/ns"


class DavError(ValueError):
    """A request that cannot be understood: its message says why (a 400)."""


PropertyName = tuple[str, str]  # (namespace, local name); '' is no namespace


def split_path(raw: str) -> list[str]:
    """The names of a /dav path (percent-decoded as UTF-8, each checked); [] is the root."""
    if raw != PREFIX and not raw.startswith(PREFIX + "/"):
        raise DavError("not a WebDAV path")
    names = []
    for part in raw[len(PREFIX) :].split("/"):
        if not part:
            continue
        try:
            name = unquote(part, errors="strict")
        except UnicodeDecodeError:
            raise DavError("a path segment is not UTF-8") from None
        try:
            names.append(paths.segment(name))
        except ValueError as error:
            raise DavError(str(error)) from None
    if len(names) > paths.MAX_DEPTH + 1:
        raise DavError("the path is too deep")
    return names


def href(names: list[str], collection: bool) -> str:
    path = PREFIX + "/" + "/".join(quote(name, safe="") for name in names)
    return path + "/" if collection and names else path


class ElsewhereError(DavError):
    """A Destination on another server (RFC 4918 §9.8.5: 502)."""


def destination(raw: str | None, host: str | None = None) -> list[str]:
    """The names of a Destination header (an absolute URI on this host, or an absolute path)."""
    if not raw:
        raise DavError("Destination is required")
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise DavError("Destination is not a URI") from None
    if parts.netloc and host is not None and parts.netloc.lower() != host.lower():
        raise ElsewhereError("the Destination is on another server")
    return split_path(parts.path)


def depth(raw: str | None, default: str = "infinity") -> str:
    value = (raw or default).strip().lower()
    if value not in ("0", "1", "infinity"):
        raise DavError("Depth must be 0, 1 or infinity")
    return value


def overwrite(raw: str | None) -> bool:
    value = (raw or "T").strip().upper()
    if value not in ("T", "F"):
        raise DavError("Overwrite must be T or F")
    return value == "T"


def http_date(epoch_seconds: float) -> str:
    return formatdate(epoch_seconds, usegmt=True)


def _parse(body: bytes) -> ET.Element | None:
    if not body.strip():
        return None
    if len(body) > MAX_XML_BODY:
        raise DavError(f"XML bodies are limited to {MAX_XML_BODY} bytes")
    _check_depth(body)
    try:
        parser = ET.XMLParser(encoding="utf-8")  # noqa: S314 - checked above: no DOCTYPE, UTF-8
        parser.feed(body)
        return parser.close()
    except ET.ParseError as error:
        raise DavError(f"the body is not well-formed XML ({error})") from None


def _check_depth(body: bytes) -> None:
    """Refuses elements nested deeper than MAX_XML_DEPTH before a tree is built: freeing a tree
    is recursive, and 20,000 levels of it overflow the interpreter's stack (in Pyodide that
    kills the isolate, with every request it is serving)."""
    # UTF-8 whatever the body says: a UTF-16 body without a byte-order mark (valid UTF-8 too)
    # would otherwise hide its DOCTYPE from any byte search.
    parser = expat.ParserCreate("UTF-8")
    depth = 0

    def doctype(*_: object) -> None:
        raise DavError("a DOCTYPE is not accepted")

    def start(_name: str, _attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise DavError(f"XML elements nest at most {MAX_XML_DEPTH} deep")

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise DavError(f"the body is not well-formed XML ({error})") from None


def name_of(element: ET.Element) -> PropertyName:
    tag = element.tag
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def value_of(element: ET.Element) -> str:
    """A property element's content as XML: its text and its children, as sent."""
    parts = [escape(element.text or "")]
    for child in element:
        parts.append(ET.tostring(child, encoding="unicode"))  # includes the child's tail
    return "".join(parts)


@dataclass(frozen=True)
class Propfind:
    kind: str  # "allprop", "propname" or "prop"
    names: tuple[PropertyName, ...] = ()


def parse_propfind(body: bytes) -> Propfind:
    root = _parse(body)
    if root is None:
        return Propfind("allprop")
    if name_of(root) != (DAV_NS, "propfind"):
        raise DavError("the body must be a DAV:propfind")
    for child in root:
        kind = name_of(child)
        if kind == (DAV_NS, "allprop"):
            return Propfind("allprop")
        if kind == (DAV_NS, "propname"):
            return Propfind("propname")
        if kind == (DAV_NS, "prop"):
            names = tuple(dict.fromkeys(name_of(element) for element in child))
            if len(names) > MAX_ASKED:
                raise DavError(f"a PROPFIND asks for at most {MAX_ASKED} properties")
            return Propfind("prop", names)
    raise DavError("DAV:propfind needs prop, allprop or propname")


@dataclass(frozen=True)
class PropertyChange:
    remove: bool
    name: PropertyName
    value: str  # XML; '' for a removal


def parse_proppatch(body: bytes) -> list[PropertyChange]:
    """The changes of a DAV:propertyupdate, in document order (which decides the outcome)."""
    root = _parse(body)
    if root is None or name_of(root) != (DAV_NS, "propertyupdate"):
        raise DavError("the body must be a DAV:propertyupdate")
    changes = []
    for action in root:
        kind = name_of(action)
        if kind not in ((DAV_NS, "set"), (DAV_NS, "remove")):
            continue
        for prop in action:
            if name_of(prop) != (DAV_NS, "prop"):
                continue
            for element in prop:
                remove = kind == (DAV_NS, "remove")
                value = "" if remove else value_of(element)
                if len(value) > MAX_PROPERTY_VALUE:
                    raise DavError(f"a property's value is limited to {MAX_PROPERTY_VALUE} characters")
                changes.append(PropertyChange(remove, name_of(element), value))
    if not changes:
        raise DavError("DAV:propertyupdate changes no property")
    return changes


@dataclass(frozen=True)
class LockInfo:
    scope: str  # "exclusive" or "shared"
    owner: str  # XML, returned as sent


def parse_lockinfo(body: bytes) -> LockInfo:
    root = _parse(body)
    if root is None or name_of(root) != (DAV_NS, "lockinfo"):
        raise DavError("the body must be a DAV:lockinfo")
    scope, owner, write = None, "", False
    for child in root:
        kind = name_of(child)
        if kind == (DAV_NS, "lockscope"):
            scopes = [name_of(element)[1] for element in child if name_of(element)[0] == DAV_NS]
            scope = scopes[0] if scopes and scopes[0] in ("exclusive", "shared") else None
        elif kind == (DAV_NS, "locktype"):
            write = any(name_of(element) == (DAV_NS, "write") for element in child)
        elif kind == (DAV_NS, "owner"):
            owner = value_of(child)
            if len(owner) > MAX_OWNER:
                raise DavError(f"a lock's owner is limited to {MAX_OWNER} characters")
    if scope is None or not write:
        raise DavError("a lock is a write lock, exclusive or shared")
    return LockInfo(scope, owner)


def element(name: PropertyName, value: str = "") -> str:
    """A property element in its own namespace, holding `value` (XML)."""
    namespace, local = name
    if value:
        return (
            f"<p:{local} xmlns:p={quoteattr(namespace)}>{value}</p:{local}>"
            if namespace
            else (f'<{local} xmlns="">{value}</{local}>')
        )
    return f"<p:{local} xmlns:p={quoteattr(namespace)}/>" if namespace else f'<{local} xmlns=""/>'


def propstat(properties: list[str], status: str) -> str:
    return f"<D:propstat><D:prop>{''.join(properties)}</D:prop><D:status>HTTP/1.1 {status}</D:status></D:propstat>"


def response(href_value: str, propstats: list[str]) -> str:
    return f"<D:response><D:href>{escape(href_value)}</D:href>{''.join(propstats)}</D:response>"


def status_response(href_value: str, status: str) -> str:
    return f"<D:response><D:href>{escape(href_value)}</D:href><D:status>HTTP/1.1 {status}</D:status></D:response>"


def multistatus(responses: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">'
        + "".join(responses)
        + ("</D:multistatus>")
    )


def text(value: str) -> str:
    return escape(value)
