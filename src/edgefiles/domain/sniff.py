"""Does a file's first bytes agree with its declared content type?"""

_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/csv", "application/json"})
# Enough to recognise every signature above and to judge whether text is text.
SNIFF_BYTES = 512


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut off by the end of the sample is still text.
        return error.start >= len(head) - 3 and error.reason == "unexpected end of data"
    return True


def matches_content(content_type: str, head: bytes) -> bool:
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if content_type in _SIGNATURES:
        return head.startswith(_SIGNATURES[content_type])
    if content_type in TEXT_TYPES:
        if not _is_text(head):
            return False
        if content_type == "application/json":
            stripped = head.lstrip(b" \t\r\n\xef\xbb\xbf")
            return not stripped or stripped[:1] in b'{["-0123456789tfn'
        return True
    return content_type == "application/octet-stream"
