# Dagster code-location image: serves the project's Definitions over gRPC to a Dagster webserver and daemon.
# Build: docker build -t energy-pipeline-code .   Run: docker run -p 4000:4000 energy-pipeline-code
FROM python:3.11-slim AS build
WORKDIR /build
COPY pyproject.toml README.md ./
COPY energy_pipeline ./energy_pipeline
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    ENERGY_PIPELINE_LANDING_DIR=/opt/energy-pipeline/data/raw \
    ENERGY_PIPELINE_ARTIFACTS_DIR=/opt/energy-pipeline/artifacts
RUN useradd --create-home --uid 10001 pipeline
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels energy-pipeline && rm -rf /wheels
COPY data/raw /opt/energy-pipeline/data/raw
COPY dagster.yaml /opt/dagster/home/dagster.yaml
RUN mkdir -p /opt/energy-pipeline/artifacts && chown -R pipeline /opt/dagster/home /opt/energy-pipeline
USER pipeline
EXPOSE 4000
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "4000", "-m", "energy_pipeline"]
