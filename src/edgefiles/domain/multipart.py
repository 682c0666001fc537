"""Planning client-driven multipart uploads within R2's rules: every part but the last is the
same size and at least 5 MiB, and there are at most 10,000 parts. Each part is one request, so a
part is also at most what the edge lets through: 100 MB (10^8 bytes) on Free and Pro zones."""

import math

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
DEFAULT_PART_SIZE = 8 * MiB
MAX_PARTS = 10_000
# The largest whole number of MiB within the edge's 10^8-byte request limit.
MAX_PART_SIZE = (100_000_000 // MiB) * MiB
MAX_FILE_SIZE = MAX_PART_SIZE * MAX_PARTS


def plan(size: int) -> tuple[int, int]:
    """(part_size, part_count) for a file of `size` bytes."""
    if size <= 0:
        raise ValueError("size must be positive")
    if size > MAX_FILE_SIZE:
        raise ValueError(f"size must be at most {MAX_FILE_SIZE} bytes")
    part_size = max(DEFAULT_PART_SIZE, math.ceil(size / MAX_PARTS / MiB) * MiB)
    return part_size, math.ceil(size / part_size)


def expected_part_size(part_number: int, *, size: int, part_size: int, part_count: int) -> int:
    if not 1 <= part_number <= part_count:
        raise ValueError(f"part must be between 1 and {part_count}")
    return part_size if part_number < part_count else size - part_size * (part_count - 1)
