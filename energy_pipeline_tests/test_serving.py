"""The real service: a champion trained in-test, its Bento built by the `bento` asset, `bentoml serve` in a
subprocess on a free localhost port, and HTTP requests against it."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest

from bench.requests import kept_requests
from energy_pipeline.models.features import model_inputs
from energy_pipeline.serving.access_log import ACCESS_LOG_EVERY_ENV
from energy_pipeline.serving.auth import API_KEY_ENV
from energy_pipeline.serving.request_guards import DEFAULT_MAX_BODY_BYTES
from energy_pipeline.serving.schemas import EXAMPLE_BUILDING, MAX_BATCH, Building
from energy_pipeline.serving.service import EnergyService
from energy_pipeline.serving.tracing import routes_traced_option
from energy_pipeline_tests.conftest import ALL_YEARS, export_path
from energy_pipeline_tests.support.services import served_bento

pytestmark = pytest.mark.integration


def _post(served: dict[str, Any], route: str, body: object) -> httpx.Response:
    return httpx.post(f"{served['base']}/{route}", json=body, timeout=60)


def test_bento_version_names_the_champion_versions(served: dict[str, Any]) -> None:
    assert re.fullmatch(r"energy_pipeline:e1-g1-s[0-9a-f]{8}", served["bento"])


def test_image_and_push_report_why_they_were_skipped(served: dict[str, Any]) -> None:
    assert served["image_materialized"] == set()
    reason = served["skipped"]["serving_image"]
    assert "buildah" in reason and ("not installed" in reason or "absent-base" in reason)
    assert f"serving_image: skipped ({reason})" in served["summary"]


def test_health_endpoints_stay_on(served: dict[str, Any]) -> None:
    for route in ("healthz", "livez", "readyz", "metrics"):
        assert httpx.get(f"{served['base']}/{route}", timeout=10).status_code == 200, route


def test_single_prediction_with_intervals_and_versions(served: dict[str, Any]) -> None:
    response = _post(served, "predict", {"building": EXAMPLE_BUILDING})
    assert response.status_code == 200, response.text
    body = response.json()
    for key in ("site_energy_use_kbtu", "total_ghg_emissions_t_co2e"):
        estimate = body[key]
        assert 0 < estimate["lower_80"] < estimate["prediction"] < estimate["upper_80"]
    assert body["model_versions"] == {"energy-pipeline-site-energy": "1", "energy-pipeline-ghg-emissions": "1"}


def _kept_rows_as_posted(year: int) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The rows training keeps of a year's export, and the same rows as the portal wrote them (API field names)."""
    return kept_requests(export_path(year), year)


@pytest.mark.parametrize("year", ALL_YEARS)
def test_every_row_training_keeps_posted_with_the_portals_values_gets_predictions(
    served: dict[str, Any], year: int
) -> None:
    """One year per layout and more: the City's own spellings, cut names, 0 for missing, `EPAPropertyType`."""
    cleaned, buildings = _kept_rows_as_posted(year)
    response = _post(served, "predict_batch", {"buildings": buildings})
    assert response.status_code == 200, response.text[:2000]
    assert len(response.json()) == len(cleaned) > 1400


def test_batch_matches_single_requests_and_the_registry_model(served: dict[str, Any]) -> None:
    cleaned, buildings = _kept_rows_as_posted(2016)
    cleaned, buildings = cleaned.head(25), buildings[:25]
    response = _post(served, "predict_batch", {"buildings": buildings})
    assert response.status_code == 200, response.text
    batch = response.json()
    assert len(batch) == len(buildings) == 25
    single = _post(served, "predict", {"building": buildings[7]}).json()
    assert batch[7] == single  # same order, same numbers

    mlflow.set_tracking_uri(served["tracking_uri"])
    registered = mlflow.sklearn.load_model("models:/energy-pipeline-site-energy@champion")
    expected = registered.predict(model_inputs(cleaned))
    served_values = np.array([b["site_energy_use_kbtu"]["prediction"] for b in batch])
    np.testing.assert_allclose(served_values, np.clip(expected, 0, None), rtol=1e-12)
    # the 80% interval: the conformal half-width of the building's property type around the prediction, on the
    # log1p scale; a type calibrated with too few buildings gets the pooled one
    card = _post(served, "model_info", {}).json()["models"]["site_energy"]
    assert card["interval_log_halfwidths"], "no property type has its own interval"
    halfwidth = np.array(
        [
            card["interval_log_halfwidths"].get(t, card["interval_log_halfwidth"])
            for t in cleaned["primary_property_type"]
        ]
    )
    assert len(set(halfwidth.round(6))) > 1, "every building of the 25 got the same interval width"
    lower, upper = ([b["site_energy_use_kbtu"][bound] for b in batch] for bound in ("lower_80", "upper_80"))
    np.testing.assert_allclose(lower, np.clip(np.expm1(np.log1p(served_values) - halfwidth), 0, None), rtol=1e-12)
    np.testing.assert_allclose(upper, np.expm1(np.log1p(served_values) + halfwidth), rtol=1e-12)


def test_openapi_lists_the_endpoints_and_a_ready_example(served: dict[str, Any]) -> None:
    spec = httpx.get(f"{served['base']}/docs.json", timeout=10).json()
    assert {"/predict", "/predict_batch", "/model_info"} <= set(spec["paths"])
    assert json.dumps(EXAMPLE_BUILDING["primary_property_type"]) in json.dumps(spec)
    assert spec["components"]["schemas"]["Building"]["example"] == EXAMPLE_BUILDING


def test_model_info(served: dict[str, Any]) -> None:
    info = _post(served, "model_info", {}).json()
    assert set(info["models"]) == {"site_energy", "ghg_emissions"}
    card = info["models"]["site_energy"]
    assert card["registered_model"] == "energy-pipeline-site-energy" and card["version"] == "1"
    assert card["data_years"] == [str(year) for year in ALL_YEARS] and 0 < card["holdout_metrics"]["r2_log"] < 1
    assert info["max_batch_size"] == MAX_BATCH
    assert "primary_property_type" in info["input_schema"]["properties"]
    # the categories a request may use are the champions' training data's, after harmonising: ENERGY STAR's names
    accepted = info["accepted_categories"]
    kept = pd.concat([_kept_rows_as_posted(year)[0] for year in ALL_YEARS])
    assert accepted["primary_property_type"] == sorted(kept["primary_property_type"].unique())
    assert "Office" in accepted["primary_property_type"] and "Large Office" not in accepted["primary_property_type"]
    assert accepted["largest_property_use_type"] == accepted["third_largest_property_use_type"]
    assert "WATER" in accepted["neighborhood"] and "council_district_code" not in accepted


def test_model_info_over_get_equals_the_post_api(served: dict[str, Any]) -> None:
    answer = httpx.get(f"{served['base']}/v1/model_info", timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == _post(served, "model_info", {}).json()
    assert httpx.post(f"{served['base']}/v1/model_info", timeout=30).status_code == 405  # read-only


def _with(**changes: object) -> dict[str, Any]:
    body = {**EXAMPLE_BUILDING, **changes}
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize(
    ("building", "field", "words"),
    [
        (_with(primary_property_type="Spaceport"), "primary_property_type", "accepted: "),
        (_with(neighborhood="ATLANTIS"), "neighborhood", "DOWNTOWN"),
        (_with(building_type="Multifamily LR (1-4)"), "building_type", "NonResidential"),
        (_with(largest_property_use_type="Convenience"), "largest_property_use_type", "fits 2"),
        (_with(property_gfa_total=-5), "property_gfa_total", "greater than 0"),
        (_with(property_gfa_parking=90000), "property_gfa_parking", "must not exceed property_gfa_total"),
        (_with(year_built=2999), "year_built", "less than or equal"),
        (_with(year_built=1700), "year_built", "greater than or equal to 1850"),
        (_with(number_of_floors=-1), "number_of_floors", "greater than or equal to 0"),
        (_with(latitude=40.7), "latitude", "must be within 47.45..47.78"),
        (_with(longitude=-74.0), "longitude", "must be within"),
        (_with(zip_code="9810"), "zip_code", "pattern"),
        (_with(council_district_code=9), "council_district_code", "less than or equal to 7"),
        (_with(property_gfa_total="a lot"), "property_gfa_total", "valid number"),
        (_with(year_built=...), "year_built", "Field required"),
        (_with(colour="blue"), "colour", "Extra inputs are not permitted"),
    ],
)
def test_invalid_input_is_a_4xx_naming_the_field(
    served: dict[str, Any], building: dict[str, Any], field: str, words: str
) -> None:
    response = _post(served, "predict", {"building": building})
    assert 400 <= response.status_code < 500, response.text
    details = response.json()["detail"]
    assert any(field in [str(p) for p in d["loc"]] and words in d["msg"] for d in details), details


def test_oversized_batch_is_rejected_with_the_limit(served: dict[str, Any]) -> None:
    response = _post(served, "predict_batch", {"buildings": [EXAMPLE_BUILDING] * (MAX_BATCH + 1)})
    assert 400 <= response.status_code < 500
    assert str(MAX_BATCH) in response.text


def test_malformed_json_is_a_4xx(served: dict[str, Any]) -> None:
    response = httpx.post(
        f"{served['base']}/predict", content=b"{not json", timeout=10, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_api_key_when_configured_guards_the_apis_but_not_health(served: dict[str, Any], tmp_path: Path) -> None:
    key = "test-key-" + os.urandom(8).hex()
    with served_bento(served["bento"], tmp_path / "server.log", env={API_KEY_ENV: key}) as base:
        body = {"building": EXAMPLE_BUILDING}
        refused = httpx.post(f"{base}/predict", json=body, timeout=30)
        assert refused.status_code == 401 and "x-api-key" in refused.json()["error"]
        assert httpx.post(f"{base}/predict", json=body, headers={"x-api-key": "wrong"}, timeout=30).status_code == 401
        assert httpx.post(f"{base}/predict", json=body, headers={"x-api-key": key}, timeout=30).status_code == 200
        bearer = {"authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/v1/model_info", headers=bearer, timeout=30).status_code == 200
        assert httpx.get(f"{base}/v1/model_info", timeout=30).status_code == 401
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        assert httpx.get(f"{base}/docs.json", timeout=10).status_code == 200
    assert httpx.post(f"{served['base']}/predict", json=body, timeout=30).status_code == 200  # unset: open


def test_a_sampled_access_log_keeps_every_refusal_and_one_success_in_n(served: dict[str, Any], tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with served_bento(served["bento"], log, env={ACCESS_LOG_EVERY_ENV: "3"}) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            ok = [client.post("/predict", json={"building": EXAMPLE_BUILDING}).status_code for _ in range(30)]
            bad = {**EXAMPLE_BUILDING, "year_built": 2999}
            refused = [client.post("/predict", json={"building": bad}).status_code for _ in range(5)]
        assert set(ok) == {200} and set(refused) == {400}
        time.sleep(1)  # the workers' output reaches the log through the supervisor
        lines = [line for line in log.read_text().splitlines() if "path=/predict," in line]
    successes = sum("(status=200," in line for line in lines)
    # each of the 2 workers keeps its 1st, 4th, ... success: 10 of 30, or 11 when both saw a remainder
    assert 10 <= successes <= 11, lines
    assert sum("(status=400," in line for line in lines) == 5


def _log_lines_of(log: Path, request_ids: list[str]) -> list[str]:
    time.sleep(1)  # the workers' output reaches the log through the supervisor
    return [line for line in log.read_text().splitlines() if any(f"span={i}," in line for i in request_ids)]


def test_requests_are_untraced_by_default_and_keep_their_ids(served: dict[str, Any]) -> None:
    """No spans are recorded (BentoML's tracing would say `sampled=1` with a sample rate set, and costs ~0.3 ms a
    request at rate 0), yet each request has its own id in the response and in its log lines."""
    bad = {"building": {**EXAMPLE_BUILDING, "year_built": 2999}}
    responses = [_post(served, "predict", body) for body in ({"building": EXAMPLE_BUILDING}, bad, bad)]
    assert [r.status_code for r in responses] == [200, 400, 400]
    ids = [r.headers.get("x-bentoml-request-id", "") for r in responses]
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids) and len(set(ids)) == 3, ids
    lines = _log_lines_of(served["log"], ids)
    access = [line for line in lines if "path=/predict," in line]
    assert len(access) == 3 and all("sampled=0," in line for line in access), lines
    assert len({re.search(r"trace=([0-9a-f]{32}),", line).group(1) for line in access}) == 3  # type: ignore[union-attr]


def test_tracing_comes_back_when_configured(served: dict[str, Any], tmp_path: Path) -> None:
    """An exporter with the routes put back traces them (sampled); an exporter alone leaves them untraced and the
    workers say how to trace them."""
    options = (
        "services.energy_pipeline.tracing.exporter_type=in_memory services.energy_pipeline.tracing.sample_rate=1.0"
    )
    for excluded, traced in ((" " + routes_traced_option(EnergyService.name), True), ("", False)):
        log = tmp_path / f"server-{traced}.log"
        with served_bento(served["bento"], log, env={"BENTOML_CONFIG_OPTIONS": options + excluded}) as base:
            response = httpx.post(f"{base}/predict", json={"building": EXAMPLE_BUILDING}, timeout=60)
            assert response.status_code == 200, response.text
            lines = _log_lines_of(log, [response.headers["x-bentoml-request-id"]])
        assert len(lines) == 1 and (f"sampled={int(traced)}," in lines[0]), lines
        warned = "a tracing exporter is configured but the routes are left out of tracing" in log.read_text()
        assert warned is not traced


def test_model_info_says_requests_use_the_compiled_models(served: dict[str, Any]) -> None:
    cards = _post(served, "model_info", {}).json()["models"]
    assert all(card["scoring"].startswith("compiled: ") for card in cards.values()), cards


def _oversized_body() -> bytes:
    filler = json.dumps({"building": EXAMPLE_BUILDING, "padding": "x"}).encode()
    return filler + b" " * (DEFAULT_MAX_BODY_BYTES - len(filler) + 1)


def test_a_body_over_the_limit_is_a_413_whether_declared_or_streamed(served: dict[str, Any]) -> None:
    body = _oversized_body()
    headers = {"content-type": "application/json"}
    declared = httpx.post(f"{served['base']}/predict", content=body, headers=headers, timeout=60)
    assert declared.status_code == 413 and str(DEFAULT_MAX_BODY_BYTES) in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    streamed = httpx.post(f"{served['base']}/predict", content=chunks(), headers=headers, timeout=60)
    assert streamed.status_code == 413, streamed.text
    assert _post(served, "predict", {"building": EXAMPLE_BUILDING}).status_code == 200  # the server is fine


def test_the_largest_legal_batch_fits_under_the_body_limit() -> None:
    full = {
        **EXAMPLE_BUILDING,
        "second_largest_property_use_type": "Non-Refrigerated Warehouse",
        "second_largest_property_use_type_gfa": 1234567.5,
        "third_largest_property_use_type": "Supermarket/Grocery Store",
        "third_largest_property_use_type_gfa": 1234567.5,
        "property_gfa_buildings": 88434.123456789,
        "energy_star_score": 99.123456789,
        "data_year": 2016,
    }
    Building(**full)
    assert len(json.dumps({"buildings": [full] * MAX_BATCH}).encode()) < DEFAULT_MAX_BODY_BYTES


def test_served_models_are_the_registered_champions_runs(served: dict[str, Any]) -> None:
    """The Bento serves the exact MLflow runs behind the champion alias, not whatever model was stored last."""
    client = mlflow.MlflowClient(served["tracking_uri"])
    cards = _post(served, "model_info", {}).json()["models"]
    for card in cards.values():
        champion = client.get_model_version_by_alias(card["registered_model"], "champion")
        assert (card["version"], card["run_id"]) == (str(champion.version), champion.run_id)
