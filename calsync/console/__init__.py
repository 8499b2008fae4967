"""The operator console at ``/``: a dashboard for staff over the admin, which stays the place to configure."""
