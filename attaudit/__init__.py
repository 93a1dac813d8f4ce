"""attaudit: adversarial-robustness audits for transformer text classifiers (the CLI and client)."""

from common.version import __version__

__all__ = ["__version__"]
