# hedgekeeper: a daemon that keeps a 1x short perpetual hedge of a crypto holding.
#
#   docker build -t hedgekeeper .                      # or --build-arg PYTHON_VERSION=3.11
#   docker run -d --name hedgekeeper -v hedgekeeper-journal:/var/lib/hedgekeeper \
#     -p 127.0.0.1:9108:9108 hedgekeeper                # dry run on the built-in simulated exchange
#
# A real configuration is mounted read-only at /etc/hedgekeeper/hedgekeeper.toml and selected with
#   ... hedgekeeper run --config /etc/hedgekeeper/hedgekeeper.toml
# Secrets come from the environment (--env-file) or from files the TOML points at (Docker/compose
# secrets under /run/secrets), never from the image. The journal (SQLite) lives on the volume.

ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# A virtual environment is one directory that the runtime stage can copy whole.
RUN python -m venv /opt/hedgekeeper
WORKDIR /src
# .dockerignore lets in only pyproject.toml, the README and src/: a stale venv, a journal or a
# local secrets file cannot end up in the build context, let alone the image.
COPY . .
# pip is removed afterwards: the running daemon never installs anything, so it need not be able to.
RUN /opt/hedgekeeper/bin/pip install --no-cache-dir . \
 && /opt/hedgekeeper/bin/pip uninstall --yes --quiet pip

FROM python:${PYTHON_VERSION}-slim
RUN groupadd --system --gid 10001 hedgekeeper \
 && useradd --system --uid 10001 --gid hedgekeeper --no-create-home \
      --home-dir /var/lib/hedgekeeper --shell /usr/sbin/nologin hedgekeeper \
 && install -d -o hedgekeeper -g hedgekeeper -m 0700 /var/lib/hedgekeeper \
 && install -d -m 0755 /etc/hedgekeeper
COPY --from=build /opt/hedgekeeper /opt/hedgekeeper
ENV PATH=/opt/hedgekeeper/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEDGEKEEPER_JOURNAL=/var/lib/hedgekeeper/hedgekeeper.sqlite \
    HEDGEKEEPER_OPS__HOST=0.0.0.0 \
    HEDGEKEEPER_OPS__PORT=9108
VOLUME ["/var/lib/hedgekeeper"]
WORKDIR /var/lib/hedgekeeper
USER 10001:10001
EXPOSE 9108
# No curl in a slim image: the standard library asks /healthz, which answers 200 only while every
# leg is live and its data fresh (urlopen raises on the 503, so the exit code is 1).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HEDGEKEEPER_OPS__PORT', '9108'), timeout=4)"]
# SIGTERM: the daemon finishes or cancels the order in flight, journals it, and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["hedgekeeper"]
CMD ["run"]
