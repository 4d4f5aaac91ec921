# One image for the web processes, the Celery workers and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Cairo draws the landscape PNG.
RUN apt-get update && apt-get install -y --no-install-recommends libcairo2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY workspaces workspaces
COPY jtbd jtbd
COPY surveys surveys
COPY analysis analysis
COPY templates templates
COPY static static
COPY manage.py ./
RUN pip install --no-cache-dir .
# Static files are hashed and compressed at build time; whitenoise serves them from gunicorn.
# The key here only lets settings load for this one command; the real one comes at run time.
RUN SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --noinput -v 0

RUN useradd --create-home --uid 10001 oe
USER oe
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
