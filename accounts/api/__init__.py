"""The accounts API: DRF views (views.py), their routes (urls.py, mounted under /api/)."""
