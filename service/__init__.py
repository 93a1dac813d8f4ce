"""service: the FastAPI app only (routers, schemas, auth, errors, upload validation). Never torch."""
