"""workers: Celery tasks and the embedded worker: ids in, the pipeline runs, results persisted."""
