"""The folds inside a fitted model (stacking, use-type prior) keep a building's yearly rows together, recognised
from its characteristics alone, on the real pooled 2015 + 2016 rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR, TARGET_ENERGY
from energy_pipeline.data.cleaning import clean_buildings
from energy_pipeline.data.validation import validate_raw
from energy_pipeline.models.candidates import CANDIDATES, stacking_pipeline
from energy_pipeline.models.features import MODEL_INPUTS, PRIOR_COLUMN, UseTypePrior
from energy_pipeline.models.modelling import training_frame
from energy_pipeline.models.protocol import log_target
from energy_pipeline.models.same_building import SameBuildingKFold, same_building_groups
from energy_pipeline_tests.conftest import YEARS


@pytest.fixture(scope="module")
def pooled(harmonised: dict[int, pd.DataFrame]) -> pd.DataFrame:
    cleaned = pd.concat(
        [
            clean_buildings(raw, validate_raw(raw, year, 0.01).invalid_rows).cleaned
            for year, raw in harmonised.items()
            if year in YEARS
        ],
        ignore_index=True,
    )
    return training_frame(cleaned)


def _buildings_split_apart(ids: np.ndarray, labels: np.ndarray) -> float:
    """Share of the buildings present in several years whose rows got different labels."""
    frame = pd.DataFrame({"id": ids, "label": labels})
    repeated = frame.groupby("id").filter(lambda rows: len(rows) > 1)
    return float(repeated.groupby("id")["label"].nunique().gt(1).mean())


def test_a_buildings_yearly_rows_share_a_group_without_its_id(pooled: pd.DataFrame) -> None:
    ids = pooled[BUILDING_ID].to_numpy()
    assert pooled.groupby(BUILDING_ID)[DATA_YEAR].nunique().gt(1).sum() > 1000  # most buildings are in both years
    groups = same_building_groups(pooled[list(MODEL_INPUTS)])
    assert _buildings_split_apart(ids, groups) < 0.03  # the geocoding moved a few buildings further than the radius
    sizes = pd.Series(ids).groupby(groups).nunique()
    assert sizes.max() < 50 and (sizes == 1).mean() > 0.85  # and it does not lump the city together


def test_folds_keep_buildings_together_where_plain_kfold_splits_them(pooled: pd.DataFrame) -> None:
    X, ids = pooled[list(MODEL_INPUTS)], pooled[BUILDING_ID].to_numpy()
    folds = list(SameBuildingKFold(5, random_state=42).split(X))
    assert len(folds) == SameBuildingKFold(5).get_n_splits()
    test_fold = np.full(len(X), -1)
    for number, (train, test) in enumerate(folds):
        assert not set(train) & set(test)
        test_fold[test] = number
    assert (test_fold >= 0).all()  # every row is scored exactly once
    assert _buildings_split_apart(ids, test_fold) < 0.03
    plain = np.zeros(len(X), dtype=int)
    for number, (_, test) in enumerate(KFold(5, shuffle=True, random_state=42).split(X)):
        plain[test] = number
    assert _buildings_split_apart(ids, plain) > 0.7  # what the stacking and the prior used to do
    again = list(SameBuildingKFold(5, random_state=42).split(X))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_a_buildings_other_year_never_reaches_its_own_prior(pooled: pd.DataFrame) -> None:
    X, y = pooled[list(MODEL_INPUTS)].reset_index(drop=True), log_target(pooled, TARGET_ENERGY)
    groups = same_building_groups(X)
    ids = pooled[BUILDING_ID].to_numpy()
    years = pooled[DATA_YEAR].to_numpy()
    # buildings whose two yearly rows are recognised as one, and alone in their group
    frame = pd.DataFrame({"id": ids, "group": groups, "year": years})
    alone = frame.groupby("group")["id"].transform("nunique").eq(1)
    both = frame[alone].groupby("id")["year"].nunique().eq(2)
    before = UseTypePrior().fit_transform(X, y)[PRIOR_COLUMN].to_numpy()
    for building in both[both].index[:3]:
        changed = y.copy()
        row_2015 = np.flatnonzero((ids == building) & (years == 2015))
        row_2016 = np.flatnonzero((ids == building) & (years == 2016))
        changed[row_2015] += 25.0  # an absurd 2015 target for this building
        after = UseTypePrior().fit_transform(X, changed)[PRIOR_COLUMN].to_numpy()
        assert after[row_2016] == before[row_2016]  # its 2016 prior did not see it
        assert not np.allclose(np.delete(after, row_2015), np.delete(before, row_2015))  # other buildings did


def test_the_stacking_cross_fits_on_same_building_folds() -> None:
    stack = stacking_pipeline({"ridge": CANDIDATES["ridge"].pipeline()})
    assert isinstance(stack.cv, SameBuildingKFold) and stack.cv.n_splits >= 3
