FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NIPPO_DATABASE_URL=sqlite:////data/nippo.db

RUN useradd --create-home --uid 10001 nippo \
    && mkdir /data && chown nippo /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY persona ./persona
COPY db ./db
COPY web ./web
RUN pip install .

USER 10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# Migrate, then hand the process over to the server so it gets the signals.
CMD ["sh", "-c", "nippo db upgrade && exec nippo serve --host 0.0.0.0 --port 8080"]
