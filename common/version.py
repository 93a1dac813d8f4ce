"""The one version string of attaudit (the package metadata's, when installed)."""

from __future__ import annotations

__version__ = "0.1.0"
