"""attaudit: adversarial-robustness audits for transformer text classifiers."""

__version__ = "0.1.0"
