"""Numbers in headers, paths and query strings: ASCII decimal digits only, bounded in length.

`str.isdigit()` and `int()` accept far more than HTTP does: superscripts ("²" is a digit but no
int), other scripts' digits (Arabic-Indic five is 5) and thousands of digits (past 4,300 `int()` raises).
"""

# 19 digits hold every size and offset a file service meets (2**63 - 1 has 19).
MAX_DIGITS = 19


def is_decimal(text: str, *, max_digits: int = MAX_DIGITS) -> bool:
    """Whether `text` is a non-negative integer in at most `max_digits` ASCII digits."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()
