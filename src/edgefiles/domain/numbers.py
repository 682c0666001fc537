"""Numbers in headers, paths and query strings: ASCII decimal digits only, bounded in length.

`str.isdigit()` and `int()` accept far more than HTTP does: superscripts ("²" is a digit but no
int), other scripts' digits (Arabic-Indic five is 5) and thousands of digits (past 4,300 `int()` raises).
"""

# 19 digits hold every size and offset a file service meets (2**63 - 1 has 19).
MAX_DIGITS = 19


def parse_decimal(text: str, *, max_digits: int = MAX_DIGITS) -> int:
    """A non-negative integer written in ASCII digits; ValueError for anything else."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        raise ValueError(f"not a decimal number of at most {max_digits} digits")
    return int(text)


def is_decimal(text: str, *, max_digits: int = MAX_DIGITS) -> bool:
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()
