"""The compiled scoring path against the fitted models themselves, on every held-out row of the real data: in one
batch and one row at a time, for every model family the candidates can produce."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import FunctionTransformer

from energy_pipeline.core.columns import TARGET_ENERGY, TARGET_GHG
from energy_pipeline.data.cleaning import clean_buildings
from energy_pipeline.data.validation import validate_raw
from energy_pipeline.models.candidates import CANDIDATES, build_pipeline, stacking_pipeline
from energy_pipeline.models.features import DEFAULT_GROUPS, MODEL_INPUTS, USE_TYPE_AREAS
from energy_pipeline.models.modelling import HOLDOUT, training_frame
from energy_pipeline.serving.fast_scoring import (
    SMALL_BATCH_ROWS,
    CompiledScorer,
    ForestTexts,
    Memo,
    PipelineScorer,
    compile_model,
    encoding,
    feature_steps,
    forest_as_lightgbm,
    frame_columns,
    matrix_models,
    scorers,
)

SMALL = {"n_estimators": 40}  # the same code paths as the registered sizes, in a fraction of the time
FAMILIES = {
    "mean_baseline": {},
    "ridge": {},
    "huber": {},
    "random_forest": SMALL,
    "extra_trees": SMALL,
    "hist_gradient_boosting": {"max_iter": 40},
    "xgboost": SMALL,
    "lightgbm": SMALL,
}


@pytest.fixture(scope="module")
def data(harmonised: dict[int, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    cleaned = pd.concat(
        [clean_buildings(raw, validate_raw(raw, year, 0.01).invalid_rows).cleaned for year, raw in harmonised.items()],
        ignore_index=True,
    )
    frame = training_frame(cleaned)
    return {"train": frame[~frame[HOLDOUT]], "holdout": frame[frame[HOLDOUT]]}


def _fit(estimator: object, train: pd.DataFrame, target: str = TARGET_ENERGY) -> TransformedTargetRegressor:
    """As `fit_final` registers it: raw inputs in, original units out."""
    model = TransformedTargetRegressor(regressor=estimator, func=np.log1p, inverse_func=np.expm1, check_inverse=False)
    return model.fit(train[list(MODEL_INPUTS)], train[target].to_numpy())


def _with_edge_cases(holdout: pd.DataFrame) -> pd.DataFrame:
    """Held-out rows plus the inputs a client may leave out or get wrong in ways validation lets through."""
    edge = holdout.head(6).copy()
    edge["zip_code"] = [None, "99999", *edge["zip_code"].iloc[2:]]  # missing, never seen
    edge["second_largest_property_use_type"] = [None, None, "Not A Use", *edge.iloc[3:, 3]]
    edge["number_of_floors"] = [np.nan, 0.0, *edge["number_of_floors"].iloc[2:]]
    edge["energy_star_score"] = np.nan
    edge["neighborhood"] = ["NOWHERE", *edge["neighborhood"].iloc[1:]]
    return pd.concat([holdout, edge], ignore_index=True)


def _assert_same_on_every_row(model: object, rows: pd.DataFrame, scorer: object) -> None:
    expected = model.predict(rows[list(MODEL_INPUTS)])
    np.testing.assert_allclose(scorer.predict(frame_columns(rows)), expected, rtol=1e-12, atol=0)
    one_by_one = np.concatenate([scorer.predict(frame_columns(rows.iloc[[i]])) for i in range(len(rows))])
    np.testing.assert_allclose(one_by_one, expected, rtol=1e-12, atol=0)
    step = SMALL_BATCH_ROWS // 2  # small batches: LightGBM walks the forests
    small = np.concatenate([scorer.predict(frame_columns(rows.iloc[i : i + step])) for i in range(0, len(rows), step)])
    np.testing.assert_allclose(small, expected, rtol=1e-12, atol=0)


@pytest.mark.integration  # fits full-size models on the real data
@pytest.mark.parametrize("family", list(FAMILIES))
def test_compiled_family_matches_the_model_on_every_held_out_row(family: str, data: dict[str, pd.DataFrame]) -> None:
    pipeline = CANDIDATES[family].pipeline().set_params(**{f"model__{k}": v for k, v in FAMILIES[family].items()})
    model = _fit(pipeline, data["train"])
    scorer = compile_model(model, data["holdout"].head(3))
    assert isinstance(scorer, CompiledScorer), scorer.detail
    rows = _with_edge_cases(data["holdout"])
    assert len(rows) > 2 * SMALL_BATCH_ROWS  # the batch: sklearn walks the trees; single rows: LightGBM
    _assert_same_on_every_row(model, rows, scorer)


@pytest.mark.integration  # fits full-size models on the real data
def test_compiled_stacking_and_the_ghg_target(data: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> None:
    # the shape the GHG champion takes: a robust linear fit, a median (l1) booster and a bagged forest
    members = {
        name: CANDIDATES[name].pipeline().set_params(**{f"model__{k}": v for k, v in params.items()})
        for name, params in {"huber": {}, "lightgbm": {**SMALL, "objective": "l1"}, "extra_trees": SMALL}.items()
    }
    model = _fit(stacking_pipeline(members), data["train"], TARGET_GHG)
    scorer = compile_model(model, data["holdout"].head(3))
    assert isinstance(scorer, CompiledScorer) and scorer.detail.startswith("stacking["), scorer.detail
    _assert_same_on_every_row(model, data["holdout"], scorer)
    # Steps with the same fitted state run once per request: the members' engineered features, and the two tree
    # members' prior and encoding (fitted on the same rows); the Huber member has its own scaled encoding.
    features_calls, encoder_calls = _count_calls(monkeypatch)
    scorer = compile_model(model)
    scorer.predict(frame_columns(data["holdout"].head(1)))
    assert (len(features_calls), len(encoder_calls)) == (1, 2)


@pytest.mark.integration  # fits full-size models on the real data
def test_forest_texts_one_compile_writes_the_next_reads(
    data: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a Bento build and a serving worker do: the worker's compile reads each forest's LightGBM text from the
    build's instead of writing it again, and scores the same; a forest with other trees never reads a stale one."""

    def forest(family: str, seed: int) -> TransformedTargetRegressor:
        pipeline = CANDIDATES[family].pipeline().set_params(model__n_estimators=40, model__random_state=seed)
        return _fit(pipeline, data["train"])

    models, texts = [forest("random_forest", 0), forest("extra_trees", 0)], ForestTexts()
    for model in models:
        compile_model(model, data["holdout"].head(3), texts)
    assert len(texts) == 2 and all(text.endswith("end of trees\n") for text in texts.values())
    written = dict(texts)
    with monkeypatch.context() as patched:
        patched.setattr(forest_as_lightgbm, "forest_model_text", lambda forest: pytest.fail("a text was written"))
        served = [compile_model(model, data["holdout"].head(3), texts) for model in models]
    assert texts == written
    for model, scorer in zip(models, served, strict=True):
        assert isinstance(scorer, CompiledScorer), scorer.detail
        _assert_same_on_every_row(model, data["holdout"].head(200), scorer)
    compile_model(forest("random_forest", 1), None, texts)  # another seed, other trees: one more text
    assert len(texts) == 3 and texts.items() >= written.items()


def _count_calls(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    features_calls: list[int] = []
    encoder_calls: list[int] = []
    derived, encode = feature_steps.derived_features, encoding.Encoder.__call__
    monkeypatch.setattr(feature_steps, "derived_features", lambda *a: features_calls.append(1) or derived(*a))
    monkeypatch.setattr(encoding.Encoder, "__call__", lambda e, *a: encoder_calls.append(1) or encode(e, *a))
    return features_calls, encoder_calls


def test_both_targets_share_one_requests_common_steps(
    data: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the service scores a request: one memo for the energy and the GHG model. Their features are computed
    once; their priors and encodings learned different targets, so each keeps its own, and the numbers are the
    ones each model gives alone."""
    pipeline = CANDIDATES["lightgbm"].pipeline().set_params(**{f"model__{k}": v for k, v in SMALL.items()})
    models = [_fit(clone(pipeline), data["train"], target) for target in (TARGET_ENERGY, TARGET_GHG)]
    scorers = [compile_model(model) for model in models]
    rows = frame_columns(data["holdout"].head(20))
    alone = [scorer.predict(rows) for scorer in scorers]
    features_calls, encoder_calls = _count_calls(monkeypatch)
    memo: Memo = {}
    shared = [scorer.predict(rows, memo) for scorer in scorers]
    assert (len(features_calls), len(encoder_calls)) == (1, 2)
    for one, other, model in zip(alone, shared, models, strict=True):
        np.testing.assert_array_equal(one, other)
        np.testing.assert_allclose(other, model.predict(data["holdout"].head(20)[list(MODEL_INPUTS)]), rtol=1e-12)


def test_a_model_without_a_compiled_form_is_scored_by_the_model(data: dict[str, pd.DataFrame]) -> None:
    pipeline = build_pipeline(KNeighborsRegressor())
    pipeline.steps.insert(0, ("identity", FunctionTransformer()))  # a step the compiler does not know
    model = _fit(pipeline, data["train"])
    scorer = compile_model(model, data["holdout"].head(3))
    assert isinstance(scorer, PipelineScorer) and "FunctionTransformer" in scorer.detail
    rows = data["holdout"].head(50)
    np.testing.assert_array_equal(scorer.predict(frame_columns(rows)), model.predict(rows[list(MODEL_INPUTS)]))


class _ShiftedRidge(Ridge):
    """Predicts something its coefficients alone do not say: the compiled form must notice and step aside."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return super().predict(X) + 0.5


def test_a_compiled_form_that_disagrees_on_the_check_rows_is_not_used(data: dict[str, pd.DataFrame]) -> None:
    model = _fit(build_pipeline(_ShiftedRidge(), scale_numeric=True), data["train"])
    scorer = compile_model(model, data["holdout"].head(3))
    assert isinstance(scorer, PipelineScorer) and "disagreed" in scorer.detail
    rows = data["holdout"].head(20)
    np.testing.assert_array_equal(scorer.predict(frame_columns(rows)), model.predict(rows[list(MODEL_INPUTS)]))


@pytest.mark.integration  # fits full-size models on the real data
def test_a_champion_fitted_before_the_use_type_shares_still_scores(data: dict[str, pd.DataFrame]) -> None:
    """A registry keeps models trained by older code: one whose features step has no use-type vocabulary (as
    registered before the per-use-type shares existed) must predict, and compile, exactly as before."""
    model = _fit(build_pipeline(Ridge(), tuple(g for g in DEFAULT_GROUPS if g != USE_TYPE_AREAS)), data["train"])
    features = model.regressor_.named_steps["features"]
    assert features.use_vocabulary_ == []
    del features.use_vocabulary_  # what an older pickle holds
    expected = model.predict(data["holdout"][list(MODEL_INPUTS)])
    assert np.isfinite(expected).all()
    scorer = compile_model(model, data["holdout"].head(3))
    assert isinstance(scorer, CompiledScorer), scorer.detail
    _assert_same_on_every_row(model, data["holdout"], scorer)


@pytest.mark.integration  # fits full-size models on the real data
def test_bulk_rows_walked_on_threads_sum_the_trees_as_one_thread_does(
    data: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    members = {"lightgbm": CANDIDATES["lightgbm"].pipeline(), "extra_trees": CANDIDATES["extra_trees"].pipeline()}
    members["extra_trees"].set_params(model__n_estimators=41)  # an odd count: runs of unequal length
    model = _fit(stacking_pipeline(members), data["train"])
    scorer = compile_model(model)
    rows = frame_columns(data["holdout"])
    walked_by: list[str] = []
    tree_values = matrix_models._tree_values
    monkeypatch.setattr(
        matrix_models,
        "_tree_values",
        lambda trees, X: walked_by.append(threading.current_thread().name) or tree_values(trees, X),
    )
    monkeypatch.setattr(matrix_models, "BULK_THREADS", 1)
    one_thread = scorer.predict(rows)
    assert set(walked_by) == {threading.current_thread().name}
    monkeypatch.setattr(matrix_models, "BULK_THREADS", 3)
    walked_by.clear()
    threaded = scorer.predict(rows)
    assert len(walked_by) == 3 and any(name.startswith("bulk-scoring") for name in walked_by)
    np.testing.assert_array_equal(threaded, one_thread)
    np.testing.assert_allclose(threaded, model.predict(data["holdout"][list(MODEL_INPUTS)]), rtol=1e-12, atol=0)


def _ridge(data: dict[str, pd.DataFrame]) -> TransformedTargetRegressor:
    return _fit(build_pipeline(Ridge()), data["train"])


def test_any_error_while_compiling_falls_back_to_the_model_and_says_why(
    data: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade that renames a library internal the compiler reads must not take a serving worker down."""
    model = _ridge(data)

    def renamed_internal(model: object, texts: object) -> None:
        raise AttributeError("'OneHotEncoder' object has no attribute '_legacy_mode'")

    monkeypatch.setattr(scorers, "_compile", renamed_internal)
    scorer = compile_model(model, data["holdout"].head(20))
    assert isinstance(scorer, PipelineScorer)
    assert scorer.detail == "compiling failed: AttributeError: 'OneHotEncoder' object has no attribute '_legacy_mode'"
    rows = data["holdout"].head(30)
    np.testing.assert_array_equal(scorer.predict(frame_columns(rows)), model.predict(rows[list(MODEL_INPUTS)]))


def test_any_error_while_checking_the_compiled_scorer_falls_back_to_the_model(
    data: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _ridge(data)
    compiled, family = scorers._compile(model, {})

    def breaks_on_missing_floors(columns: dict[str, np.ndarray], memo: dict[str, object]) -> np.ndarray:
        if np.isnan(np.asarray(columns["number_of_floors"], dtype=float)).any():
            raise IndexError("index 7 is out of bounds")
        return compiled(columns, memo)

    monkeypatch.setattr(scorers, "_compile", lambda model, texts: (breaks_on_missing_floors, family))
    rows = data["holdout"].head(20).copy()
    rows.loc[rows.index[4], "number_of_floors"] = np.nan
    scorer = compile_model(model, rows)
    assert isinstance(scorer, PipelineScorer)
    assert scorer.detail == f"checking compiled {family} failed: IndexError: index 7 is out of bounds"


def test_the_check_rows_catch_a_disagreement_three_example_rows_miss(
    data: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why serving checks on a sample of real rows stored with the model, not on its 3-row input example: a
    compiled scorer wrong on a kind of building the example does not hold passes the example and fails the sample."""
    model = _ridge(data)
    compiled, family = scorers._compile(model, {})
    example, sample = data["train"].head(3), data["train"].sample(n=200, random_state=0)
    tallest_in_example = float(example["number_of_floors"].max())
    assert (sample["number_of_floors"] > tallest_in_example).any()

    def wrong_above_the_example(columns: dict[str, np.ndarray], memo: dict[str, object]) -> np.ndarray:
        predicted = np.array(compiled(columns, memo), dtype=float)
        predicted[np.asarray(columns["number_of_floors"], dtype=float) > tallest_in_example] *= 1.01
        return predicted

    monkeypatch.setattr(scorers, "_compile", lambda model, texts: (wrong_above_the_example, family))
    assert isinstance(compile_model(model, example), CompiledScorer)
    on_sample = compile_model(model, sample)
    assert isinstance(on_sample, PipelineScorer) and "disagreed with the model on the check rows" in on_sample.detail
    monkeypatch.undo()
    agreed = compile_model(model, sample)
    assert isinstance(agreed, CompiledScorer) and agreed.detail == f"{family}; agreed with the model on 200 check rows"
