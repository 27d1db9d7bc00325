# v2c-solar at home, in a container:
#   docker build -t v2c-solar .
#   docker run -d --name v2c-solar --restart unless-stopped -p 127.0.0.1:8787:8787 \
#     -e V2C_API_KEY -e V2C_SOLAR_WEB_TOKEN -v v2c-solar-data:/data \
#     -v "$PWD/config/home.toml:/etc/v2c-solar/home.toml:ro" v2c-solar
# The API key and the web token come from the environment only: never in the image.

# ----- builder: the wheel and its dependencies, in a venv copied whole to the runtime ------
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY optimizer ./optimizer
COPY adapters ./adapters
RUN python -m venv /opt/v2c-solar \
 && /opt/v2c-solar/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/v2c-solar/bin/pip install /wheels/*.whl

# ----- runtime: no compiler, no sources, a user without privileges ---------------------------
FROM python:3.11-slim
RUN groupadd --system --gid 10001 v2c \
 && useradd --system --uid 10001 --gid v2c --home-dir /data --shell /usr/sbin/nologin v2c \
 && mkdir -p /data /etc/v2c-solar \
 && chown v2c:v2c /data
COPY --from=builder /opt/v2c-solar /opt/v2c-solar
COPY config/home.toml /etc/v2c-solar/home.toml
# Logs are plain lines on stderr (no colours without a TTY), unbuffered for `docker logs`.
ENV PATH=/opt/v2c-solar/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    V2C_SOLAR_DB=sqlite:////data/v2c-solar.db \
    MPLCONFIGDIR=/tmp/matplotlib
# The SQLite database (call ledger, sessions, decisions) outlives the container.
VOLUME /data
WORKDIR /data
USER v2c
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/api/status', timeout=4)"]
# SIGTERM (docker stop) leaves every charger in its own exclusive-PV mode before exit.
STOPSIGNAL SIGTERM
CMD ["v2c-solar", "run", "--config", "/etc/v2c-solar/home.toml", "--web", "0.0.0.0:8787"]
