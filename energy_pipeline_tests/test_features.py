"""The feature transformers on real rows: values, unseen categories, missing optional inputs, no target leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from energy_pipeline.core.columns import TARGET_ENERGY
from energy_pipeline.data.cleaning import clean_buildings
from energy_pipeline.data.validation import validate_raw
from energy_pipeline.models.candidates import CANDIDATES, build_pipeline
from energy_pipeline.models.features import (
    DEFAULT_GROUPS,
    DERIVED_COLUMNS,
    FEATURE_GROUPS,
    PRIOR_COLUMN,
    STEAM_LOOP_CENTRE,
    USE_SHARE_PREFIX,
    USE_TYPE_AREAS,
    BuildingFeatures,
    LeakageError,
    UseTypePrior,
    audit_inputs,
    derived_features,
    model_inputs,
    steam_loop_proximity,
    use_type_share_columns,
)
from energy_pipeline.models.protocol import Protocol, log_target
from energy_pipeline.models.training import tune_candidate


@pytest.fixture(scope="module")
def rows(harmonised: dict[int, pd.DataFrame]) -> pd.DataFrame:
    raw = harmonised[2016]
    return clean_buildings(raw, validate_raw(raw, 2016, 0.01).invalid_rows).cleaned


def every_default_group() -> Pipeline:
    """A ridge given every default feature group (the ridge candidate itself leaves location and priors out)."""
    return build_pipeline(CANDIDATES["ridge"].make_estimator(), DEFAULT_GROUPS, scale_numeric=True)


@pytest.fixture(scope="module")
def fitted(rows: pd.DataFrame) -> Pipeline:
    return every_default_group().fit(model_inputs(rows), log_target(rows, TARGET_ENERGY))


def test_engineered_values_on_a_real_row(rows: pd.DataFrame) -> None:
    X = model_inputs(rows)
    own_groups = tuple(g for g in FEATURE_GROUPS if g != "priors")
    features = BuildingFeatures(groups=own_groups).fit(X).transform(X)
    first = rows.iloc[0]  # Mayflower Park Hotel: built 1927, 88,434 sq ft, 12 floors, no parking
    assert features["building_age"].iloc[0] == 2016 - first["year_built"] == 89
    assert features["log_gfa_total"].iloc[0] == pytest.approx(np.log1p(88434))
    assert features["parking_share"].iloc[0] == 0.0
    assert features["log_gfa_per_floor"].iloc[0] == pytest.approx(np.log1p(88434 / 12))
    shares = features[["largest_use_share", "second_use_share", "third_use_share"]]
    assert ((shares >= 0) & (shares <= 1)).all().all()
    assert (shares.sum(axis=1) <= 1 + 1e-9).all()
    share_columns = [c for c in features.columns if c.startswith(USE_SHARE_PREFIX)]
    fixed_groups = [g for g in own_groups if g != USE_TYPE_AREAS]
    assert [c for c in features.columns if c not in share_columns] == [
        c for g in fixed_groups for c in FEATURE_GROUPS[g][0]
    ]
    # the per-use-type shares: the hotel is all hotel; every row's shares add up to its three slots' shares
    assert features.loc[features.index[0], "use_share__hotel"] == pytest.approx(features["largest_use_share"].iloc[0])
    np.testing.assert_allclose(features[share_columns].sum(axis=1), shares.sum(axis=1), atol=1e-12)
    with pytest.raises(ValueError, match="needs UseTypePrior"):
        BuildingFeatures(groups=("priors",)).fit(X)


def test_steam_loop_proximity_is_high_downtown_and_zero_far_away_or_unknown(rows: pd.DataFrame) -> None:
    proximity = steam_loop_proximity(model_inputs(rows))
    assert ((proximity >= 0) & (proximity <= 1)).all()
    downtown = (rows["neighborhood"].str.upper() == "DOWNTOWN").to_numpy()
    north = (rows["latitude"] > 47.65).to_numpy()  # the University District and beyond, miles from the loop
    assert np.median(proximity[downtown]) > 0.01 and proximity[north].max() < 1e-6
    centre_unknown = {
        "latitude": np.array([STEAM_LOOP_CENTRE[0], np.nan]),
        "longitude": np.array([STEAM_LOOP_CENTRE[1], np.nan]),
    }
    np.testing.assert_array_equal(steam_loop_proximity(centre_unknown), [1.0, 0.0])


def test_feature_names_out_cover_every_group(fitted) -> None:
    names = list(fitted[:-1].get_feature_names_out())
    assert "building_age" in names and PRIOR_COLUMN in names and "log_gfa_per_floor" in names
    assert any(n.startswith("primary_property_type_") for n in names)
    assert len(DEFAULT_GROUPS) >= 5


def test_unseen_categories_and_missing_optional_inputs_predict(rows: pd.DataFrame, fitted) -> None:
    X = model_inputs(rows.head(3))
    X.loc[0, ["primary_property_type", "largest_property_use_type", "neighborhood"]] = [
        "Spaceport",
        "Launch Pad",
        "ATLANTIS",
    ]
    X.loc[1, ["energy_star_score", "zip_code", "number_of_floors"]] = [np.nan, None, np.nan]
    X.loc[2, ["second_largest_property_use_type", "third_largest_property_use_type"]] = [None, None]
    predicted = fitted.predict(X)
    assert np.isfinite(predicted).all()
    assert predicted[0] != pytest.approx(fitted.predict(model_inputs(rows.head(1)))[0])


def test_training_rows_never_see_their_own_target_in_the_prior(rows: pd.DataFrame) -> None:
    X, y = model_inputs(rows), log_target(rows, TARGET_ENERGY)
    changed = y.copy()
    changed[10] += 25.0  # an absurd target for one row
    before = UseTypePrior().fit_transform(X, y)[PRIOR_COLUMN]
    after = UseTypePrior().fit_transform(X, changed)[PRIOR_COLUMN]
    assert after.iloc[10] == before.iloc[10]  # cross-fitted: row 10's own target is not in its encoding
    assert not np.allclose(after.drop(index=10), before.drop(index=10))  # but it does inform other rows


def test_a_folds_targets_never_reach_its_own_predictions(rows: pd.DataFrame) -> None:
    X, y = model_inputs(rows), log_target(rows, TARGET_ENERGY)
    train, test = Protocol(seeds=(42,)).splits(rows["ose_building_id"])[0]
    shuffled = y.copy()
    shuffled[test] = np.random.default_rng(0).permutation(y[test]) + 3.0
    first = every_default_group().fit(X.iloc[train], y[train]).predict(X.iloc[test])
    second = every_default_group().fit(X.iloc[train], shuffled[train]).predict(X.iloc[test])
    np.testing.assert_array_equal(first, second)


def test_leak_audit_refuses_metered_columns_and_targets(rows: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match="electricity_kbtu"):
        audit_inputs(["property_gfa_total", "electricity_kbtu"])
    with pytest.raises(LeakageError, match=TARGET_ENERGY):
        audit_inputs([TARGET_ENERGY])
    X = model_inputs(rows).assign(steam_use_kbtu=1.0)
    with pytest.raises(LeakageError, match="steam_use_kbtu"):
        tune_candidate("ridge", X, log_target(rows, TARGET_ENERGY), Protocol(seeds=(42,)).splits(rows.index), "tiny", 1)


def test_model_inputs_keep_only_what_is_known_before_metering(rows: pd.DataFrame) -> None:
    X = model_inputs(rows.assign(electricity_kbtu=1.0))
    assert "electricity_kbtu" not in X.columns and TARGET_ENERGY not in X.columns
    audit_inputs(X.columns)


def test_pipeline_is_deterministic(rows: pd.DataFrame) -> None:
    X, y = model_inputs(rows), log_target(rows, TARGET_ENERGY)
    first = build_pipeline(CANDIDATES["lightgbm"].make_estimator()).fit(X, y).predict(X)
    second = build_pipeline(CANDIDATES["lightgbm"].make_estimator()).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)


def test_use_type_shares_learn_their_vocabulary_in_fit_and_ignore_unseen_uses(rows: pd.DataFrame) -> None:
    X = model_inputs(rows)
    train, later = X.iloc[:-200], X.iloc[-200:].copy()
    features = BuildingFeatures(groups=("use_mix", USE_TYPE_AREAS)).fit(train)
    assert features.use_vocabulary_ == sorted(
        {
            u
            for c in (
                "largest_property_use_type",
                "second_largest_property_use_type",
                "third_largest_property_use_type",
            )
            for u in train[c].dropna()
        }
    )
    later.iloc[0, later.columns.get_loc("largest_property_use_type")] = "Launch Pad"  # a use training never saw
    out = features.transform(later)
    shares = out[[c for c in out.columns if c.startswith(USE_SHARE_PREFIX)]]
    assert list(shares.columns) == list(features.get_feature_names_out()[6:])  # same columns as at fit time
    assert "use_share__launch_pad" not in out.columns
    known_slots = out[["second_use_share", "third_use_share"]].iloc[0].sum()
    assert shares.iloc[0].sum() == pytest.approx(known_slots)  # the unseen use adds nothing, the others still count
    assert out["largest_use_share"].iloc[0] > 0  # while the slot share still says how big that use is


def test_derived_columns_name_what_derived_features_returns(rows: pd.DataFrame) -> None:
    """The compiled scorer lays the derived features out by `DERIVED_COLUMNS`: a feature added to one and not the
    other would leave the served matrix without it."""
    X = model_inputs(rows.head(5))
    assert tuple(derived_features({c: X[c].to_numpy() for c in X.columns})) == DERIVED_COLUMNS


def test_a_use_listed_in_two_slots_gets_both_slots_shares(rows: pd.DataFrame) -> None:
    X = model_inputs(rows)
    features = BuildingFeatures(groups=("use_mix", USE_TYPE_AREAS)).fit(X)
    twice = X.head(3).copy()
    twice["second_largest_property_use_type"] = twice["largest_property_use_type"]
    twice["second_largest_property_use_type_gfa"] = twice["largest_property_use_type_gfa"] / 2
    twice["property_gfa_total"] = twice["largest_property_use_type_gfa"] * 2
    out = features.transform(twice)
    names = dict(zip(features.use_vocabulary_, use_type_share_columns(features.use_vocabulary_), strict=True))
    for i, use in enumerate(twice["largest_property_use_type"]):
        column = names[use]
        slots = out["largest_use_share"].iloc[i] + out["second_use_share"].iloc[i]
        assert out[column].iloc[i] == pytest.approx(slots)
        assert out[column].iloc[i] == pytest.approx(0.75)
