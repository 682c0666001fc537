"""Text from simple PDFs in pure Python: the strings shown by the text operators (Tj, TJ, ', ")
of each content stream, inflated with zlib when FlateDecode'd. PDFs whose text needs font
tables to decode (CID fonts, custom encodings) come out empty or garbled, and are reported as
unsupported rather than guessed at."""

import re
import zlib

_STREAM = re.compile(rb"<<(?P<dict>.*?)>>\s*stream\r?\n(?P<data>.*?)\r?\nendstream", re.DOTALL)
_TEXT_BLOCK = re.compile(rb"BT(.*?)ET", re.DOTALL)
_SHOW = re.compile(rb"(\((?:\\.|[^\\)])*\)|\[(?:[^\]]*)\])\s*(?:Tj|TJ|'|\")")
_LITERAL = re.compile(rb"\((?:\\.|[^\\)])*\)")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
MAX_STREAM_BYTES = 8 * 1024 * 1024


class UnsupportedPdf(ValueError):
    pass


def _unescape(literal: bytes) -> bytes:
    body = literal[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i : i + 1]
        if char != b"\\":
            out += char
            i += 1
            continue
        following = body[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", body[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(following, following)
            i += 2
    return bytes(out)


def _content_streams(pdf: bytes):
    for match in _STREAM.finditer(pdf):
        data = match.group("data")
        if b"/FlateDecode" in match.group("dict"):
            try:
                data = zlib.decompressobj().decompress(data, MAX_STREAM_BYTES)
            except zlib.error:
                continue
        elif b"/Filter" in match.group("dict"):
            continue  # other filters (images, fonts) carry no text we can read
        yield data


def extract_text(pdf: bytes) -> str:
    if not pdf.startswith(b"%PDF-"):
        raise UnsupportedPdf("not a PDF")
    lines: list[str] = []
    for stream in _content_streams(pdf):
        for block in _TEXT_BLOCK.findall(stream):
            shown = b"".join(_unescape(lit) for op in _SHOW.findall(block) for lit in _LITERAL.findall(op))
            if shown.strip():
                lines.append(shown.decode("latin-1"))
    text = "\n".join(lines).strip()
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    if not text or printable < 0.9 * len(text):
        raise UnsupportedPdf("no extractable text (the PDF's fonts need tables this extractor does not read)")
    return text
