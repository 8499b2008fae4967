# One image for every calsync process: web (the default command), worker and beat.
# docker-compose.yml runs them with PostgreSQL and Redis; see docs/operations.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CALSYNC_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000

RUN groupadd --system calsync \
    && useradd --system --gid calsync --home-dir /app --no-create-home calsync

WORKDIR /app
# Requirements first: code changes then rebuild from the cached dependency layer.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are served by whitenoise from the image. The keys exist for this step only;
# production passes its own at run time.
RUN SECRET_KEY=collectstatic-only CALSYNC_ENCRYPTION_KEYS=collectstatic-only-not-a-real-key \
        python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R calsync:calsync /data

USER calsync
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn calsync.wsgi --bind ${HOST}:${PORT} --workers ${CALSYNC_WEB_WORKERS:-2} --worker-class gthread --threads ${CALSYNC_WEB_THREADS:-4} --access-logfile - --no-control-socket --logger-class calsync.logredact.RedactingGunicornLogger"]
