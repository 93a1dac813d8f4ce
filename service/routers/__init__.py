"""One router per resource: models, datasets, audits, health."""
