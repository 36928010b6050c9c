# Python 3.11 on Debian 12 (bookworm): a rebuild gets security fixes, never another Python or Debian.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NIPPO_DATABASE_URL=sqlite:////data/nippo.db

RUN useradd --create-home --uid 10001 nippo \
    && mkdir /data && chown nippo /data

WORKDIR /app
# The dependencies first, in a layer of their own, read from pyproject.toml:
# a change to nippo's code rebuilds only the layers below.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY bot ./bot
COPY commands ./commands
COPY persona ./persona
COPY db ./db
COPY web ./web
RUN pip install --no-deps .

USER 10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# nippo serve applies pending migrations itself (under the migration lock), then serves;
# as the container's first process it gets the signals. 0.0.0.0: reachable from outside the container.
CMD ["nippo", "serve", "--host", "0.0.0.0", "--port", "8080"]
