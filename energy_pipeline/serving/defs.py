"""The serving stage in Dagster: the Bento of the current champions, its container image, and the image in ECR.
The only module of `serving/` that imports Dagster; the service itself never imports it."""

import dataclasses
import time
from collections.abc import Iterator

import bentoml
import dagster as dg

from energy_pipeline.core import names
from energy_pipeline.core.columns import GHG_EMISSIONS, SITE_ENERGY
from energy_pipeline.core.names import Meta
from energy_pipeline.core.version import source_version
from energy_pipeline.models.modelling import SelectionOutcome
from energy_pipeline.orchestration.retries import transient_errors_retried
from energy_pipeline.orchestration.serving_resources import BentoPackaging, EcrRegistry, ImageBuilder
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.orchestration.training_resources import MlflowTracking
from energy_pipeline.serving.image import BuiltImage, build_image, image_size_bytes
from energy_pipeline.serving.registry import push_with

CODE_VERSION = source_version(__name__)


def _skipped(context: dg.AssetExecutionContext, asset: str, why: str) -> dg.AssetObservation:
    """Not built, and why: an observation in the asset's history instead of a failed run."""
    context.log.warning(f"{asset} skipped: {why}")
    return dg.AssetObservation(asset_key=asset, metadata={Meta.SKIPPED: why})


@dg.asset(
    name=names.BENTO,
    code_version=CODE_VERSION,
    group_name=names.SERVING_GROUP,
    kinds={"bentoml"},
    description="The Bento serving both current champions (never a non-promoted version); its version names "
    "the model versions and digests its code, models and packaging, e.g. energy_pipeline:e3-g2-s1a2b3c4d.",
)
def bento(
    context: dg.AssetExecutionContext,
    site_energy_model: SelectionOutcome,
    ghg_emissions_model: SelectionOutcome,
    mlflow: MlflowTracking,
    packaging: BentoPackaging,
) -> dg.Output[str]:
    # imported here: the service module sets process-wide options when imported, which the code location and
    # every other step must not get
    from energy_pipeline.serving.bento_build import Champion, build_bento, carried_packages

    tracker = mlflow.tracker()
    champions = []
    for target, outcome in ((SITE_ENERGY.key, site_energy_model), (GHG_EMISSIONS.key, ghg_emissions_model)):
        version = outcome.champion_after
        if version is None:
            raise dg.Failure(f"{outcome.version.name} has no champion: nothing fit to serve yet")
        name = outcome.version.name
        winner, run_id = tracker.champion_winner(name, version), tracker.version_run_id(name, version)
        champions.append(Champion(target, name, version, winner, run_id))
    with transient_errors_retried(context):  # the champions are downloaded from the MLflow server
        built = build_bento(champions, PROJECT_ROOT, packaging.base_image, packaging.python_version)
    context.log.info(f"bento {built.tag} at {built.path}")
    return dg.Output(
        str(built.tag),
        metadata={
            Meta.BENTO: str(built.tag),
            "path": built.path,
            "models": [f"{c.registered_model} v{c.version} ({c.winner})" for c in champions],
            "packages": ", ".join(carried_packages(built)),
            Meta.SERVE: f"bentoml serve {built.tag}",
        },
    )


@dg.asset(
    name=names.SERVING_IMAGE,
    code_version=CODE_VERSION,
    group_name=names.SERVING_GROUP,
    kinds={"docker"},
    output_required=False,
    description="The Bento containerized with docker (when a daemon answers) or buildah; skipped, with the "
    "reason recorded, where neither is available.",
)
def serving_image(
    context: dg.AssetExecutionContext, bento: str, builder: ImageBuilder, packaging: BentoPackaging
) -> Iterator[dg.Output[BuiltImage] | dg.AssetObservation]:
    backend, why = builder.available(packaging.base_image)
    if backend is None:
        yield _skipped(context, names.SERVING_IMAGE, why)
        return
    image = BuiltImage(f"{builder.image_name}:{bentoml.get(bento).tag.version}", backend)
    start = time.perf_counter()
    build_image(bento, image.name, backend)
    yield dg.Output(
        image,
        metadata={
            Meta.IMAGE: image.name,
            Meta.BACKEND: backend,
            "bento": bento,
            "base_image": packaging.base_image,
            Meta.SIZE_MB: round(image_size_bytes(image.name, backend) / 2**20, 1),
            "build_seconds": round(time.perf_counter() - start, 1),
        },
    )


@dg.asset(
    name=names.ECR_IMAGE,
    code_version=CODE_VERSION,
    group_name=names.SERVING_GROUP,
    kinds={"ecr"},
    output_required=False,
    description="The serving image pushed to ECR (repository created if missing), confirmed with "
    "describe_images; skipped, with the reason recorded, when no registry is configured.",
)
def ecr_image(
    context: dg.AssetExecutionContext, serving_image: BuiltImage, ecr: EcrRegistry
) -> Iterator[dg.Output[str] | dg.AssetObservation]:
    if not ecr.configured:
        yield _skipped(context, names.ECR_IMAGE, "no ECR registry configured (set ENERGY_PIPELINE_ECR_REGION)")
        return
    repository = ecr.repository_client()
    uri = repository.ensure()
    host, path = uri.split("/", 1)
    host = ecr.registry_host or host
    remote = f"{host}/{path}:{serving_image.tag}"
    with transient_errors_retried(context):
        login = dataclasses.replace(repository.login(), endpoint=host)
        push_with(serving_image.backend, serving_image.name, remote, login, tls_verify=ecr.tls_verify)
    details = repository.wait_for(serving_image.tag)
    if details is None:
        raise dg.Failure(f"pushed {remote} but ECR does not list tag {serving_image.tag}")
    context.log.info(f"pushed {remote} ({details['imageDigest']})")
    yield dg.Output(
        remote,
        metadata={
            Meta.URI: remote,
            Meta.DIGEST: details["imageDigest"],
            "tags": details.get("imageTags", []),
            "repository": uri,
        },
    )


defs = dg.Definitions(assets=[bento, serving_image, ecr_image])
