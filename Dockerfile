# Dagster code-location image: serves the project's Definitions over gRPC to a Dagster webserver and daemon.
# Build: docker build -t energy-pipeline-code .   Run: docker run -p 4000:4000 energy-pipeline-code
# Installs exactly uv.lock (the versions `make install` and the Bento use), as a non-root user, no credentials.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_NO_CACHE=1 UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never
RUN python3 -m pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /build
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project --system-certs
COPY energy_pipeline ./energy_pipeline
RUN uv sync --locked --no-dev --no-editable --system-certs

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    ENERGY_PIPELINE_LANDING_DIR=/opt/energy-pipeline/data/raw \
    ENERGY_PIPELINE_ARTIFACTS_DIR=/opt/energy-pipeline/artifacts
# LightGBM's wheel links the OpenMP runtime, which slim images lack
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 pipeline
COPY --from=build /opt/venv /opt/venv
COPY data/raw /opt/energy-pipeline/data/raw
COPY dagster.yaml /opt/dagster/home/dagster.yaml
RUN mkdir -p /opt/energy-pipeline/artifacts && chown -R pipeline /opt/dagster/home /opt/energy-pipeline
USER pipeline
EXPOSE 4000
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "4000", "-m", "energy_pipeline"]
