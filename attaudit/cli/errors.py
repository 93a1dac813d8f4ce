"""Errors the CLI reports as one line with exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user asked for: a path, a file, an option."""


def is_input_error(exc: BaseException) -> bool:
    """True for library exceptions that describe bad input (they set ``input_error = True``)."""
    return bool(getattr(exc, "input_error", False))
