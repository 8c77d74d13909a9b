"""Small helpers for text a person reads in a terminal."""

from __future__ import annotations


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 stride"``, ``"3 strides"``, ``"0 passes"`` (``plural_form`` for irregular nouns)."""
    if count == 1:
        return f"{count} {noun}"
    if plural_form is None:
        plural_form = noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{count} {plural_form}"
