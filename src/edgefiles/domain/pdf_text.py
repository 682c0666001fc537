"""Text from simple PDFs in pure Python: the strings shown by the text operators (Tj, TJ, ', ")
of each content stream, inflated with zlib when FlateDecode'd. PDFs whose text needs font
tables to decode (CID fonts, custom encodings) come out empty or garbled, and are reported as
unsupported rather than guessed at.

The input is whatever a user uploaded, so the work is linear in its size and bounded:
- no regular expression here can backtrack more than the run of whitespace or digits it stands
  on (an earlier version's `<<(.*?)>>\\s*stream(.*?)endstream` took minutes on 22 KB);
- streams are found with `find`, each byte of the file is looked at a bounded number of times;
- a work budget (bytes inflated, tokens read) and a cap on the text collected stop the extractor
  long before the consumer's CPU limit, whatever the file holds.
"""

import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_STREAM_BYTES = 8 * 1024 * 1024  # inflated size of one stream
MAX_INFLATED_BYTES = 32 * 1024 * 1024  # inflated size of all streams together
MAX_TOKENS = 500_000  # content-stream tokens read in all: about 1.5 s of CPU on Pyodide here
MAX_TEXT_BYTES = 256 * 1024  # more text than summaries and embeddings ever use
MAX_SECONDS = 3.0  # a backstop for the counts above

# `>>`, optional white space, the keyword, its end of line. A failed match backtracks only over
# the white space it took.
_STREAM_START = re.compile(rb">>[\x00\t\n\f\r ]*stream\r?\n")
_WHITESPACE = b"\x00\t\n\f\r "
_DELIMITERS = b"()<>[]{}/%"
# One content-stream token per match; every alternative is a single character class run, so
# matching is linear. Literal strings are read by `_literal` (they nest, which no regex can).
_TOKEN = re.compile(
    rb"[\x00\t\n\f\r ]+"  # white space
    rb"|%[^\r\n]*"  # comment
    rb"|<<|>>"  # dictionary brackets
    rb"|<[^>]*>?"  # hex string (not text this extractor can decode)
    rb"|[\[\]{}()]"  # array brackets, braces, the start of a literal string
    rb"|/[^\x00\t\n\f\r ()<>\[\]{}/%]*"  # name
    rb"|[^\x00\t\n\f\r ()<>\[\]{}/%]+"  # number or operator
    rb"|.",  # a stray delimiter
    re.DOTALL,
)
_NUMBER_START = b"+-.0123456789"  # numbers are operands; no operator starts like one
_LITERAL_SPECIAL = re.compile(rb"[()\\]")
_OCTAL = re.compile(rb"[0-7]{1,3}")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
_SHOW_OPERATORS = frozenset({b"Tj", b"TJ", b"'", b'"'})
_DICTIONARY_BYTES = 64 * 1024
_STREAM_COST = 4
# How often (in units of work) the extractor looks at the clock.
_CLOCK_EVERY = 4096


class UnsupportedPdf(ValueError):
    pass


@dataclass
class Budget:
    """What the extractor may still spend. Exhausting it ends extraction with what was found.

    Work is counted in units the extractor's Python loops run (tokens, and the parentheses and
    escapes inside literal strings), so the count bounds the CPU; the clock is a second bound,
    in case a count misses something."""

    inflated_bytes: int = MAX_INFLATED_BYTES
    tokens: int = MAX_TOKENS
    text_bytes: int = MAX_TEXT_BYTES
    seconds: float = MAX_SECONDS
    clock: Callable[[], float] = time.monotonic
    _deadline: float = field(init=False)
    _until_clock: int = field(init=False, default=_CLOCK_EVERY)

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.seconds

    def spend(self, units: int = 1) -> bool:
        """Counts work done; False once the budget is gone."""
        self.tokens -= units
        self._until_clock -= units
        if self._until_clock <= 0:
            self._until_clock = _CLOCK_EVERY
            if self.clock() > self._deadline:
                self.tokens = 0
        return self.tokens > 0

    @property
    def exhausted(self) -> bool:
        return self.inflated_bytes <= 0 or self.tokens <= 0 or self.text_bytes <= 0


def _unescape(body: bytes) -> bytes:
    """The bytes of a literal string's body (between its parentheses)."""
    out = bytearray()
    start = 0
    while (backslash := body.find(b"\\", start)) >= 0:
        out += body[start:backslash]
        octal = _OCTAL.match(body, backslash + 1)
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            start = octal.end()
        else:
            following = body[backslash + 1 : backslash + 2]
            out += _ESCAPES.get(following, following)
            start = backslash + 2
    out += body[start:]
    return bytes(out)


def _literal(stream: bytes, start: int, budget: Budget) -> tuple[bytes, int]:
    """The literal string whose `(` is at `start`: (its raw body, still escaped, and the position
    after it). An unterminated string runs to the end of the stream. Each parenthesis and
    escape costs a unit of work: they are what this loop iterates over."""
    depth = 1
    position = start + 1
    while depth:
        special = _LITERAL_SPECIAL.search(stream, position)
        if special is None or not budget.spend():
            return stream[start + 1 :], len(stream)
        char = special.group()
        position = special.end()
        if char == b"\\":
            position += 1
        elif char == b"(":
            depth += 1
        else:
            depth -= 1
    return stream[start + 1 : position - 1], position


def _shown_lines(stream: bytes, budget: Budget) -> Iterator[bytes]:
    """The text shown inside each BT ... ET block of a content stream, one item per block."""
    in_text = False
    line = bytearray()
    operands: list[bytes] = []  # literal strings (still escaped) since the last operator
    position = 0
    while position < len(stream) and budget.spend():
        if stream[position] == 0x28:  # "("
            literal, position = _literal(stream, position, budget)
            # No more than can still become text (an escape is at most 4 bytes for 1).
            operands.append(literal[: 4 * budget.text_bytes])
            continue
        token = _TOKEN.match(stream, position)
        assert token is not None  # the last alternative matches any byte
        position = token.end()
        word = token.group()
        if word[0] in _WHITESPACE or word[0] in _DELIMITERS or word[0] in _NUMBER_START:
            continue  # white space, names, brackets, numbers (TJ's kerning, sizes): not text
        # An operator: it takes the operands before it.
        if word == b"BT":
            in_text, line = True, bytearray()
        elif word == b"ET":
            if in_text and line.strip():
                budget.text_bytes -= len(line)
                yield bytes(line)
                if budget.exhausted:
                    return
            in_text = False
        elif word in _SHOW_OPERATORS and in_text:
            # Unescaped only when shown: each escape was paid for when the literal was read.
            line += b"".join(_unescape(literal) for literal in operands)
            if len(line) >= budget.text_bytes:  # one endless block: keep what the budget allows
                yield bytes(line[: budget.text_bytes])
                budget.text_bytes = 0
                return
        operands.clear()


def _content_streams(pdf: bytes, budget: Budget) -> Iterator[bytes]:
    position = 0
    view = memoryview(pdf)  # slices for zlib without copying the file
    # Each stream costs work, whatever it holds: a file of a million empty streams is work too
    # (finding one takes about as long as reading a few tokens).
    while not budget.exhausted and budget.spend(_STREAM_COST):
        keyword = _STREAM_START.search(pdf, position)
        if keyword is None:
            return
        start = keyword.end()
        end = pdf.find(b"endstream", start)
        if end < 0:
            return  # no stream after this one can be complete either
        data_end = end - 2 if pdf.startswith(b"\r\n", end - 2) else end - 1 if pdf[end - 1] in b"\r\n" else end
        data_end = max(data_end, start)
        # The stream's dictionary lies between the object's start (or the previous stream's
        # end) and its keyword, and ends with its keyword: each byte of the file is searched
        # once, and no more than its last 64 KB are copied.
        object_start = pdf.rfind(b"obj", position, keyword.start())
        dictionary = pdf[max(object_start, position, keyword.start() - _DICTIONARY_BYTES) : keyword.start() + 2]
        position = end + len(b"endstream")
        # At most what one stream and the budget allow, raw or inflated.
        limit = min(MAX_STREAM_BYTES, budget.inflated_bytes)
        if b"/FlateDecode" in dictionary:
            try:
                data = zlib.decompressobj().decompress(view[start:data_end], limit)
            except zlib.error:
                continue
        elif b"/Filter" in dictionary:
            continue  # other filters (images, fonts) carry no text we can read
        else:
            data = pdf[start : min(data_end, start + limit)]
        budget.inflated_bytes -= len(data)
        yield data


def extract_text(pdf: bytes, budget: Budget | None = None) -> str:
    if not pdf.startswith(b"%PDF-"):
        raise UnsupportedPdf("not a PDF")
    budget = budget or Budget()
    lines = [
        line.decode("latin-1") for stream in _content_streams(pdf, budget) for line in _shown_lines(stream, budget)
    ]
    text = "\n".join(lines).strip()
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    if not text or printable < 0.9 * len(text):
        if budget.exhausted:
            raise UnsupportedPdf("no text found within the extractor's work budget")
        raise UnsupportedPdf("no extractable text (the PDF's fonts need tables this extractor does not read)")
    return text
