"""Project-wide test peers and doubles, for tests and benches only: real servers (Radicale,
Xandikos, the Debian real servers, Zammad and Kimai stand-ins), faults and hostile peers, in-memory
stores, sample calendars, real Celery workers and calsync itself under gunicorn."""
