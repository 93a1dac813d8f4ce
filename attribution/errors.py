"""Errors the attribution library raises for bad input (models, files, options).

Every class here sets ``input_error = True``: the CLI turns them into one line on stderr with
exit code 2 and the service into an HTTP 4xx, never a traceback.
"""

from __future__ import annotations


class AttributionInputError(ValueError):
    """Base for all bad-input errors of the attribution library."""

    input_error = True


class ModelLoadError(AttributionInputError):
    """A model directory or hub id that cannot be loaded safely as a supported classifier."""


class DataError(AttributionInputError):
    """A dataset file or example that cannot be read or encoded."""
