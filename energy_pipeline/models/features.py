"""Engineered features as scikit-learn transformers, so a saved pipeline takes raw building characteristics and
serving computes exactly what training computed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.validation import check_is_fitted

from energy_pipeline.core.columns import DATA_YEAR, FLOOR_AREA_COLUMNS, METERED_COLUMNS, TARGETS
from energy_pipeline.models.same_building import SameBuildingKFold

CATEGORICAL_INPUTS: tuple[str, ...] = (
    "building_type",
    "primary_property_type",
    "largest_property_use_type",
    "second_largest_property_use_type",
    "third_largest_property_use_type",
    "neighborhood",
    "zip_code",
)
# Not an input: the council district a building carries changed meaning in 2018 (downtown buildings went from 7 to
# 1 in a growing share of rows, 373 of 566 by 2021), so a model would learn a label that drifts; the coordinates and
# the neighbourhood carry location.
NUMERIC_INPUTS: tuple[str, ...] = (
    DATA_YEAR,
    "latitude",
    "longitude",
    "year_built",
    "number_of_buildings",
    "number_of_floors",
    *FLOOR_AREA_COLUMNS,
    "energy_star_score",
)
# What a client sends: known about a building before it is metered. ENERGY STAR score and zip are optional.
MODEL_INPUTS: tuple[str, ...] = CATEGORICAL_INPUTS + NUMERIC_INPUTS

USE_TYPES = (
    "largest_property_use_type",
    "second_largest_property_use_type",
    "third_largest_property_use_type",
)
USE_GFAS = tuple(f"{use}_gfa" for use in USE_TYPES)
NO_USE = "None"
USE_SHARE_PREFIX = "use_share__"

# Feature group -> (columns it adds, the domain reason). The ablation asset switches groups off one at a time.
FEATURE_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "size": (
        ("log_gfa_total", "log_gfa_buildings", "number_of_buildings", "log_gfa_parking"),
        "energy grows with floor area, multiplicatively: the log makes it additive for every model (garage included)",
    ),
    "age": (("building_age",), "older envelopes and systems use more energy per square foot"),
    "parking": (("parking_share",), "parking garages use little energy per square foot of the total"),
    "use_mix": (
        (
            "largest_use_share",
            "second_use_share",
            "third_use_share",
            "log_largest_use_gfa",
            "log_second_use_gfa",
            "log_third_use_gfa",
        ),
        "how the floor area splits between uses, and each use's own size (a hotel with a big garage is not a hotel)",
    ),
    "shape": (
        ("number_of_floors", "log_gfa_per_floor"),
        "footprint per floor: tall slim towers and wide low warehouses differ in envelope and systems",
    ),
    "use_type": (
        ("primary_property_type", "largest_property_use_type", "building_type"),
        "the use type sets the typical intensity (a data center is not a warehouse)",
    ),
    "use_type_areas": (
        (f"{USE_SHARE_PREFIX}<use type>",),
        "a building's energy is roughly the sum over its uses of area times intensity, wherever a use is listed",
    ),
    "priors": (
        ("use_type_prior",),
        "expected log intensity of the building's uses, weighted by their floor areas (fitted within each fold)",
    ),
    "location": (
        ("latitude", "longitude", "neighborhood"),
        "districts differ in building stock and in district steam/gas availability",
    ),
    "district_steam": (
        ("steam_loop_proximity",),
        "downtown buildings on the district steam loop emit far more per kBtu than Seattle's hydro electricity",
    ),
    "energy_star": (
        ("energy_star_score",),
        "optional: the ENERGY STAR score is computed from metered energy, so it is reported separately",
    ),
}
USE_TYPE_AREAS = "use_type_areas"  # its columns come from the use types seen in training
DEFAULT_GROUPS: tuple[str, ...] = tuple(g for g in FEATURE_GROUPS if g != "energy_star")
PRIOR_COLUMN = "use_type_prior"


class LeakageError(ValueError):
    """A model input that is only known after metering (or a target) would let the model read the answer."""


def audit_inputs(columns: Iterable[str]) -> None:
    """Refuse to train on metered or target columns: they are the answer, not what is known beforehand."""
    leaked = sorted(set(columns) & (set(METERED_COLUMNS) | set(TARGETS)))
    if leaked:
        raise LeakageError(f"model inputs include columns measured after metering or targets: {leaked}")


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw columns a model may see, in a fixed order; absent optional columns are added as missing."""
    out = frame.reindex(columns=list(MODEL_INPUTS))
    audit_inputs(out.columns)
    for column in CATEGORICAL_INPUTS:
        out[column] = out[column].astype("object").where(out[column].notna(), None)
    for column in NUMERIC_INPUTS:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out


def input_categories(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Per category input, the values of the rows a model is trained on: what serving accepts. The three use-type
    slots share one list (a use may come in any slot)."""
    inputs = model_inputs(frame)
    uses = sorted({str(v) for column in USE_TYPES for v in inputs[column].dropna()})
    return {
        column: uses if column in USE_TYPES else sorted({str(v) for v in inputs[column].dropna()})
        for column in CATEGORICAL_INPUTS
    }


# The arithmetic below works on numpy columns: the DataFrame transformers and the compiled scoring path
# (`serving/fast_scoring/`) call the same functions, so they cannot drift apart.
Columns = Mapping[str, np.ndarray]


def stack_columns(columns: Sequence[np.ndarray] | Sequence[Sequence[float]]) -> np.ndarray:
    """(n, k) float matrix of k columns: the same numbers as `np.column_stack`, about 3x faster on the one-row
    requests the service scores (no per-column reshaping)."""
    return np.ascontiguousarray(np.array(columns, dtype=float).T)


def _fill_nan(values: np.ndarray, fill: float = 0.0) -> np.ndarray:
    return np.where(np.isnan(values), fill, values)


def _log_area(area: np.ndarray) -> np.ndarray:
    """log1p of an optional area: a use or a garage that is not there has area 0."""
    return np.log1p(np.maximum(_fill_nan(area), 0.0))


def use_shares(use_gfas: np.ndarray, gfa_total: np.ndarray) -> np.ndarray:
    """(n, 3) shares of the largest, second and third use in the floor area (0 where unknown)."""
    uses = np.maximum(_fill_nan(use_gfas), 0.0)
    denominator = np.maximum(uses.sum(axis=1), _fill_nan(gfa_total))
    return _fill_nan(uses / np.where(denominator == 0, np.nan, denominator)[:, None])


def use_gfas(columns: Columns) -> np.ndarray:
    return stack_columns([columns[c] for c in USE_GFAS])


def slot_shares(columns: Columns) -> np.ndarray:
    """`use_shares` of raw input columns."""
    return use_shares(use_gfas(columns), np.asarray(columns["property_gfa_total"], dtype=float))


def prior_column(encoded: np.ndarray, shares: np.ndarray, gfa_total: np.ndarray) -> np.ndarray:
    """Floor-area-weighted encoded intensity of the uses, back on the scale of the target (log1p units)."""
    weights = shares.sum(axis=1)
    prior = np.where(weights > 0, (encoded * shares).sum(axis=1) / np.where(weights > 0, weights, 1), 0.0)
    return np.where(weights > 0, prior, encoded[:, 0]) + np.log1p(gfa_total)


# The centre of the 2016 buildings that bought district steam (downtown), and the distance over which proximity
# fades: measured on the 2016 protocol, 0.2 km gave the ridge +0.003 R²(log) for GHG, 0.5 km and more less.
STEAM_LOOP_CENTRE = (47.6087, -122.3334)
STEAM_LOOP_SCALE_KM = 0.2
KM_PER_DEGREE = (111.0, 75.0)  # latitude, longitude at Seattle's 47.6° N


def steam_loop_proximity(columns: Columns) -> np.ndarray:
    """1 on the steam loop's centre, fading to 0 within a few blocks; 0 where the location is unknown.
    A linear model cannot draw this circle from latitude and longitude; a tree needs many splits to."""
    north = (np.asarray(columns["latitude"], dtype=float) - STEAM_LOOP_CENTRE[0]) * KM_PER_DEGREE[0]
    east = (np.asarray(columns["longitude"], dtype=float) - STEAM_LOOP_CENTRE[1]) * KM_PER_DEGREE[1]
    return _fill_nan(np.exp(-np.hypot(north, east) / STEAM_LOOP_SCALE_KM))


DERIVED_COLUMNS: tuple[str, ...] = (
    "log_gfa_total",
    "log_gfa_buildings",
    "building_age",
    "parking_share",
    "largest_use_share",
    "second_use_share",
    "third_use_share",
    "log_gfa_per_floor",
    "log_gfa_parking",
    "log_largest_use_gfa",
    "log_second_use_gfa",
    "log_third_use_gfa",
    "steam_loop_proximity",
)  # what `derived_features` returns, in its order


def derived_features(columns: Columns, shares: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The engineered numeric columns, from raw numeric columns as float arrays. `shares`: the rows' `use_shares`
    when the caller has them already (the compiled scorer computes them once per request)."""
    gfa_total = np.asarray(columns["property_gfa_total"], dtype=float)
    gfa_buildings = np.asarray(columns["property_gfa_buildings"], dtype=float)
    floors = np.asarray(columns["number_of_floors"], dtype=float)
    floors = np.where(floors > 0, floors, np.nan)
    uses_gfa = use_gfas(columns)
    shares = use_shares(uses_gfa, gfa_total) if shares is None else shares
    parking = np.asarray(columns["property_gfa_parking"], dtype=float) / np.where(gfa_total == 0, np.nan, gfa_total)
    age = np.asarray(columns[DATA_YEAR], dtype=float) - np.asarray(columns["year_built"], dtype=float)
    log_use_gfas = _log_area(uses_gfa)
    return {
        "log_gfa_total": np.log1p(gfa_total),
        "log_gfa_buildings": np.log1p(gfa_buildings),
        "building_age": np.maximum(age, 0.0),
        "parking_share": _fill_nan(parking),
        "largest_use_share": shares[:, 0],
        "second_use_share": shares[:, 1],
        "third_use_share": shares[:, 2],
        "log_gfa_per_floor": np.log1p(gfa_buildings / floors),
        "log_gfa_parking": _log_area(np.asarray(columns["property_gfa_parking"], dtype=float)),
        "log_largest_use_gfa": log_use_gfas[:, 0],
        "log_second_use_gfa": log_use_gfas[:, 1],
        "log_third_use_gfa": log_use_gfas[:, 2],
        "steam_loop_proximity": steam_loop_proximity(columns),
    }


def use_type_share_columns(vocabulary: Sequence[str]) -> list[str]:
    """One readable, unique column name per known use type (names reach plots and boosters' feature names)."""
    return list(_share_layout(tuple(vocabulary))[0])


@cache
def _share_layout(vocabulary: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    """Column names and use type -> position, computed once per vocabulary: a served request must not redo it."""
    names: list[str] = []
    for use in vocabulary:
        slug = re.sub(r"[^0-9a-z]+", "_", str(use).lower()).strip("_") or "use"
        name, n = f"{USE_SHARE_PREFIX}{slug}", 2
        while name in names:
            name, n = f"{USE_SHARE_PREFIX}{slug}_{n}", n + 1
        names.append(name)
    return tuple(names), {use: i for i, use in enumerate(vocabulary)}


def use_type_share_matrix(columns: Columns, vocabulary: Sequence[str], shares: np.ndarray | None = None) -> np.ndarray:
    """(n, len(vocabulary)) share of the floor area under each known use type, summed over the three use slots in
    slot order; a use type never seen in training adds nothing here (its area still counts in the slot shares).
    `shares`: as in `derived_features`."""
    if shares is None:
        shares = slot_shares(columns)
    index, rows, width = _share_layout(tuple(vocabulary))[1], len(shares), len(vocabulary)
    positions = np.array([[index.get(use, -1) for use in columns[name]] for name in USE_TYPES], dtype=np.intp)
    known = positions >= 0  # (3, n): slot by slot
    cells = (np.arange(rows) * width + positions)[known]  # bincount adds a cell's slots in this order, from 0
    return np.bincount(cells, shares.T[known], minlength=rows * width).reshape(rows, width)


def use_type_shares(columns: Columns, vocabulary: Sequence[str]) -> dict[str, np.ndarray]:
    """`use_type_share_matrix` as named columns (`use_type_share_columns`)."""
    names = _share_layout(tuple(vocabulary))[0]
    return dict(zip(names, use_type_share_matrix(columns, vocabulary).T, strict=True))


def use_type_vocabulary(frame: pd.DataFrame) -> list[str]:
    """Every use type listed in any of the three slots, sorted so the same rows give the same columns."""
    return sorted({str(use) for name in USE_TYPES for use in frame[name].dropna()})


def uses_or_none(values: Iterable[object]) -> list[object]:
    """A use type, or NO_USE where there is none: the prior's encoder needs a category for 'no such use'."""
    return [NO_USE if v is None or v != v else v for v in values]


class UseTypePrior(TransformerMixin, BaseEstimator):
    """Adds `use_type_prior`: the floor-area-weighted typical log intensity (log target per sq ft) of a
    building's uses. Encodings come from sklearn's TargetEncoder, whose fit_transform cross-fits, so a training
    row's own target never reaches its own prior, and a CV fold's held-out rows never reach the encoding."""

    def __init__(self, smooth: float | str = "auto", random_state: int = 42) -> None:
        self.smooth = smooth
        self.random_state = random_state

    def _uses(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({use: uses_or_none(frame[use]) for use in USE_TYPES}, index=frame.index, dtype=object)

    def _intensity(self, frame: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=float) - np.log1p(frame["property_gfa_total"].to_numpy(dtype=float))

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> UseTypePrior:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None, **fit_params: object) -> pd.DataFrame:
        if y is None:
            raise ValueError("UseTypePrior needs the target to fit")
        self.encoder_ = TargetEncoder(
            target_type="continuous",
            smooth=self.smooth,
            # the folds keep a building's yearly rows together: its other year must not encode its own prior
            cv=list(SameBuildingKFold(5, random_state=self.random_state).split(X)),
        )
        encoded = self.encoder_.fit_transform(self._uses(X), self._intensity(X, y))
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self._with_prior(X, encoded)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "encoder_")
        return self._with_prior(X, self.encoder_.transform(self._uses(X)))

    def _with_prior(self, X: pd.DataFrame, encoded: np.ndarray) -> pd.DataFrame:
        gfa_total = X["property_gfa_total"].to_numpy(dtype=float)
        out = X.copy()
        out[PRIOR_COLUMN] = prior_column(encoded, slot_shares(X), gfa_total)
        return out

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        names = list(input_features if input_features is not None else self.feature_names_in_)
        return np.asarray([*names, PRIOR_COLUMN], dtype=object)


def fitted_use_vocabulary(features: BuildingFeatures) -> list[str]:
    """Models registered before the per-use-type shares existed have no vocabulary, and must keep predicting."""
    return list(getattr(features, "use_vocabulary_", []))


class BuildingFeatures(TransformerMixin, BaseEstimator):
    """Raw building characteristics -> the engineered columns of the enabled feature groups."""

    def __init__(self, groups: Sequence[str] = DEFAULT_GROUPS) -> None:
        self.groups = groups

    def fit(self, X: pd.DataFrame, y: object = None) -> BuildingFeatures:
        unknown = set(self.groups) - set(FEATURE_GROUPS)
        if unknown:
            raise ValueError(f"unknown feature groups: {sorted(unknown)}; known: {list(FEATURE_GROUPS)}")
        if "priors" in self.groups and PRIOR_COLUMN not in X.columns:
            raise ValueError("the 'priors' group needs UseTypePrior before BuildingFeatures in the pipeline")
        self.use_vocabulary_ = use_type_vocabulary(X) if USE_TYPE_AREAS in self.groups else []
        self.columns_ = [
            c
            for g in self.groups
            for c in (use_type_share_columns(self.use_vocabulary_) if g == USE_TYPE_AREAS else FEATURE_GROUPS[g][0])
        ]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "columns_")
        derived = pd.DataFrame(derived_features(X), index=X.index)
        use_areas = pd.DataFrame(use_type_shares(X, fitted_use_vocabulary(self)), index=X.index)
        source = pd.concat([X, derived, use_areas], axis=1)
        return source[self.columns_]

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        check_is_fitted(self, "columns_")
        return np.asarray(self.columns_, dtype=object)
