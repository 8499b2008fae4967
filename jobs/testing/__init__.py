"""Helpers for tests that run real calsync processes (Celery workers, run_all)."""
