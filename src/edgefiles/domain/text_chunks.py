"""Splitting text into chunks for embeddings: paragraphs packed up to a size, long ones split at
word boundaries."""

MAX_CHUNK_CHARS = 1200
MAX_CHUNKS = 48


def chunk_text(text: str, max_chars: int = MAX_CHUNK_CHARS, max_chunks: int = MAX_CHUNKS) -> list[str]:
    pieces: list[str] = []
    for paragraph in text.replace("\r\n", "\n").split("\n\n"):
        rest = paragraph.strip()
        while len(rest) > max_chars:
            cut = rest.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            pieces.append(rest[:cut].strip())
            rest = rest[cut:].strip()
        if rest:
            pieces.append(rest)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]}\n\n{piece}"
        else:
            chunks.append(piece)
    return chunks[:max_chunks]
