"""jobs: the sending side of the queue (the Celery app definition and dispatch). Torch-free."""
