"""One target's training, end to end, against MLflow: search the candidates, pick the winner, register it and
let the gate decide on the champion alias. Plain Python: the Dagster assets only wire these calls."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd

from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR, TARGETS, TargetSpec
from energy_pipeline.core.names import ModelKey
from energy_pipeline.models.candidates import STACKING
from energy_pipeline.models.diagnostics import (
    forward_figure,
    importance_figure,
    model_importances,
    permutation_importances,
    predicted_vs_actual,
    residuals_by_property_type,
)
from energy_pipeline.models.features import MODEL_INPUTS, input_categories, model_inputs
from energy_pipeline.models.forward import POOLED, POPULATIONS, ForwardEvaluation, evaluate_forward
from energy_pipeline.models.gate import GateDecision, GateFloors, decide
from energy_pipeline.models.intervals import INTERVAL_COVERAGE
from energy_pipeline.models.monitoring import reference_profile
from energy_pipeline.models.protocol import Protocol, holdout_mask, log_target
from energy_pipeline.models.selection import Choice
from energy_pipeline.models.tracking import CHAMPION, RegisteredVersion, TrainingTracker, load_model
from energy_pipeline.models.training import (
    CandidateResult,
    HoldoutEvaluation,
    evaluate_holdout,
    failed_candidate,
    fit_final,
    measure_cost,
    protocol_cv,
    select_winner,
    stack_best,
    tune_candidate,
)

HOLDOUT = "holdout"
COMPARABILITY_YEAR = 2016


def training_frame(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Model inputs, targets, ids and the fixed held-out flag of every cleaned row of every year."""
    frame = model_inputs(cleaned)
    frame[BUILDING_ID] = cleaned[BUILDING_ID].to_numpy()
    for target in TARGETS:
        frame[target] = cleaned[target].to_numpy(dtype=float)
    frame[HOLDOUT] = holdout_mask(frame[BUILDING_ID])
    return frame


def data_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[:16]


def data_years(frame: pd.DataFrame) -> list[str]:
    return [str(int(y)) for y in sorted(frame[DATA_YEAR].dropna().unique())]


COST_EXAMPLE_ROWS = 50  # the training rows a candidate's serving cost is measured on


@dataclass
class SearchSettings:
    candidates: list[str]
    grid_size: str
    n_jobs: int
    protocol: Protocol
    report_2016_protocol: bool = True
    max_model_mb: float | None = None  # a candidate larger than this, pickled, cannot win

    @property
    def max_model_bytes(self) -> int | None:
        return None if self.max_model_mb is None else int(self.max_model_mb * 1e6)


@dataclass
class CandidateSet:
    target: TargetSpec
    parent_run_id: str
    results: list[CandidateResult]
    choice: Choice

    @property
    def winner(self) -> CandidateResult:
        return next(r for r in self.results if r.name == self.choice.winner)

    def table(self) -> list[dict[str, Any]]:
        return [r.summary() for r in sorted(self.results, key=lambda r: -r.cv.get("r2_log_mean", -np.inf))]


def search_candidates(
    data: pd.DataFrame,
    target: TargetSpec,
    settings: SearchSettings,
    tracker: TrainingTracker,
    tags: dict[str, str],
    log: Any = None,
) -> CandidateSet:
    """Tune every candidate on the protocol's grouped splits of the non-held-out rows; one nested run each."""
    train = data[~data[HOLDOUT]]
    X, y = train[list(MODEL_INPUTS)], log_target(train, target.column)
    splits = settings.protocol.splits(train[BUILDING_ID])
    results: list[CandidateResult] = []
    example = X.head(COST_EXAMPLE_ROWS)
    names = [c for c in settings.candidates if c != STACKING]
    with tracker.run(f"train-{target.key}", {**tags, "target": target.key}) as run:
        tracker.log_training_data(train, target.column, data_digest(data), data_years(data))
        mlflow.log_params(
            {
                "grid_size": settings.grid_size,
                "cv_folds": settings.protocol.folds,
                "cv_seeds": ",".join(map(str, settings.protocol.seeds)),
            }
        )
        total = len(names) + (STACKING in settings.candidates)
        for step, name in enumerate(names, start=1):
            try:
                result = measure_cost(
                    tune_candidate(name, X, y, splits, settings.grid_size, settings.n_jobs),  # type: ignore[arg-type]
                    example,
                )
            except Exception as error:  # one broken family must not hide the others' results
                result = failed_candidate(name, error)
                if log:
                    log.warning(f"candidate {name} failed: {result.error}")
            _progress(log, target, step, total, result)
            tracker.log_candidate(result, tags)
            results.append(result)
        if STACKING in settings.candidates and sum(r.ok and r.name != "mean_baseline" for r in results) >= 2:
            stacked = measure_cost(stack_best(results, X, y, splits, settings.n_jobs), example)
            _progress(log, target, total, total, stacked)
            tracker.log_candidate(stacked, tags)
            results.append(stacked)
        winner, choice = select_winner(results, settings.max_model_bytes)
        mlflow.set_tags({"selection.winner": winner.name, "selection.best_cv": choice.best})
        mlflow.set_tag("selection.reason", choice.reason[:5000])
    return CandidateSet(target=target, parent_run_id=run.info.run_id, results=results, choice=choice)


def _progress(log: Any, target: TargetSpec, step: int, total: int, result: CandidateResult) -> None:
    """One line per candidate, so a long search shows how far it has got."""
    if log is None:
        return
    score = f"CV R²(log) {result.cv['r2_log_mean']:.4f}" if result.ok else "failed"
    cost = f", {result.cost.size_mb:.2f} MB, {result.cost.single_row_ms:.2f} ms a building" if result.cost else ""
    log.info(f"{target.key} candidate {step}/{total} {result.name}: {score} in {result.fit_seconds:.0f} s{cost}")


@dataclass
class SelectionOutcome:
    target: TargetSpec
    winner: str
    cv: dict[str, float]
    holdout: HoldoutEvaluation
    champion_before: str | None
    champion_holdout: dict[str, float] | None
    decision: GateDecision
    version: RegisteredVersion
    protocol_2016: dict[str, float] | None
    runner_up: str | None = None
    lead_r2_log: float | None = None  # winner's CV R² (log) minus the runner-up's (< 0 when cost chose it)
    figures: dict[str, Path] = field(default_factory=dict)  # title -> PNG (also logged to the MLflow run)
    model: Any = field(default=None, repr=False)  # the registered estimator, as fitted in this process

    @property
    def champion_after(self) -> str | None:
        return self.version.version if self.decision.promote else self.champion_before


def select_and_register(
    candidates: CandidateSet,
    data: pd.DataFrame,
    novelty_scale: float,
    settings: SearchSettings,
    tracker: TrainingTracker,
    model_name: str,
    floors: GateFloors,
    margin: float,
    code_version: str,
    figures_dir: Path,
) -> SelectionOutcome:
    """Winner by CV, refit on all training rows, scored on the held-out rows against the current champion; its
    intervals calibrated per type on the held-out rows and scaled by the forward evaluation's `novelty_scale`."""
    target = candidates.target
    winner = candidates.winner
    train, held_out = data[~data[HOLDOUT]], data[data[HOLDOUT]]
    X_train, X_hold = train[list(MODEL_INPUTS)], held_out[list(MODEL_INPUTS)]
    y_train, y_hold = train[target.column].to_numpy(), held_out[target.column].to_numpy()

    final = fit_final(winner, X_train, y_train)
    holdout = evaluate_holdout(final, X_hold, y_hold)
    holdout = replace(holdout, intervals=holdout.intervals.scaled(novelty_scale))
    champion_before = tracker.champion_version(model_name)
    champion_holdout = None
    if champion_before is not None:
        champion_model = load_model(f"models:/{model_name}@{CHAMPION}")
        champion_holdout = evaluate_holdout(champion_model, X_hold, y_hold).metrics
    decision = decide(holdout.metrics, champion_holdout, floors, margin)
    protocol_2016 = _protocol_2016(winner, data, target, settings)

    with tracker.run("", {}, run_id=candidates.parent_run_id):
        mlflow.set_tags(
            {
                "winner": winner.name,
                "code_version": code_version,
                "gate.decision": "promoted" if decision.promote else "not promoted",
            }
        )
        mlflow.log_metrics({f"winner_cv_{k}": v for k, v in winner.cv.items()})
        mlflow.log_metrics({f"holdout_{k}": v for k, v in holdout.metrics.items()})
        mlflow.log_metric("interval_log_halfwidth_pooled", holdout.intervals.pooled)
        if protocol_2016:
            mlflow.log_metrics({f"protocol_2016_{k}": v for k, v in protocol_2016.items()})
        figures = _log_diagnostics(final, winner, X_hold, y_hold, held_out, target, figures_dir)
        version = tracker.log_and_register(
            final,
            model_name,
            X_train,
            metadata={
                ModelKey.TARGET: target.column,
                ModelKey.UNIT: target.unit,
                ModelKey.WINNER: winner.name,
                ModelKey.DATA_YEARS: data_years(data),
                ModelKey.HOLDOUT_METRICS: holdout.metrics,
                ModelKey.INTERVALS: holdout.intervals.as_metadata(),
                ModelKey.INTERVAL_LOG_HALFWIDTH: holdout.intervals.pooled,  # read by versions before `intervals`
                ModelKey.INTERVAL_COVERAGE: holdout.coverage,
                ModelKey.SELECTION: candidates.choice.reason,
                ModelKey.CV_METRICS: winner.cv,
                ModelKey.CODE_VERSION: code_version,
                ModelKey.DRIFT_REFERENCE: reference_profile(X_train),
                ModelKey.INPUT_CATEGORIES: input_categories(data),
            },
        )
        tracker.record_decision(version, decision, holdout)
    # the best of the others by CV: with serving cost counted the winner need not be the best, so the lead can be < 0
    others = sorted((r for r in candidates.results if r.ok and r is not winner), key=lambda r: -r.cv["r2_log_mean"])
    runner_up = others[0] if others else None
    return SelectionOutcome(
        target=target,
        winner=winner.name,
        cv=winner.cv,
        holdout=holdout,
        champion_before=champion_before,
        champion_holdout=champion_holdout,
        decision=decision,
        version=version,
        protocol_2016=protocol_2016,
        runner_up=runner_up.name if runner_up else None,
        lead_r2_log=winner.cv["r2_log_mean"] - runner_up.cv["r2_log_mean"] if runner_up else None,
        figures=figures,
        model=final,
    )


@dataclass
class ForwardReport:
    """The chosen configuration's forward evaluation, and every tuned candidate's pooled forward figures beside
    its CV score: the selection yardstick (grouped CV) next to the question the City asks (forward)."""

    evaluation: ForwardEvaluation
    by_candidate: list[dict[str, object]]
    figure: Path


def evaluate_and_log_forward(
    candidates: CandidateSet, data: pd.DataFrame, tracker: TrainingTracker, n_jobs: int, figures_dir: Path
) -> ForwardReport:
    """The chosen configuration judged forward in time (`models/forward.py`); the table, the pooled figures (and
    each year's, as steps) and the plot go to the candidates' MLflow run, with every candidate's pooled figures."""
    target, winner = candidates.target, candidates.winner
    y_log, held_out = log_target(data, target.column), data[HOLDOUT].to_numpy()
    evaluations = {
        result.name: evaluate_forward(result.estimator, data, y_log, held_out, INTERVAL_COVERAGE, n_jobs)
        for result in candidates.results
        if result.ok and result.estimator is not None
    }
    evaluation = evaluations[winner.name]
    by_candidate = [
        _forward_row(result, evaluations[result.name], result.name == winner.name)
        for result in sorted(candidates.results, key=lambda r: -r.cv.get("r2_log_mean", -np.inf))
        if result.name in evaluations
    ]
    path = figures_dir / "forward_evaluation.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = forward_figure(evaluation.frame(), target)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    with tracker.run("", {}, run_id=candidates.parent_run_id):
        for row in evaluation.rows:
            for metric in ("r2_log", "median_ape", "coverage", "mean_log_halfwidth"):
                if metric not in row:
                    continue
                name, value = f"forward_{row['population']}_{metric}", float(str(row[metric]))
                if row["year"] == POOLED:
                    mlflow.log_metric(f"{name}_pooled", value)
                else:
                    mlflow.log_metric(name, value, step=int(str(row["year"])))
        if evaluation.rows:
            mlflow.log_table(evaluation.frame().astype({"year": str}), "forward/evaluation.json")
            mlflow.log_table(pd.DataFrame(by_candidate), "forward/by_candidate.json")
        mlflow.log_artifact(str(path), artifact_path="forward")
    return ForwardReport(evaluation=evaluation, by_candidate=by_candidate, figure=path)


def _forward_row(result: CandidateResult, evaluation: ForwardEvaluation, chosen: bool) -> dict[str, object]:
    row: dict[str, object] = {"candidate": result.name, "chosen": chosen, "cv_r2_log": result.cv.get("r2_log_mean")}
    for population in POPULATIONS:
        pooled = evaluation.pooled(population)
        for metric in ("r2_log", "median_ape", "coverage"):
            row[f"forward_{population}_{metric}"] = None if pooled is None else pooled.get(metric)
    return row


def _protocol_2016(
    winner: CandidateResult, data: pd.DataFrame, target: TargetSpec, settings: SearchSettings
) -> dict[str, float] | None:
    """The reference figure's protocol: 2016 rows only, 5x3 shuffled folds, the winner's configuration."""
    rows = data[data[DATA_YEAR] == COMPARABILITY_YEAR]
    if not settings.report_2016_protocol or len(rows) < 100 or winner.estimator is None:
        return None
    splits = settings.protocol.splits(rows[BUILDING_ID])
    return protocol_cv(
        winner.estimator, rows[list(MODEL_INPUTS)], log_target(rows, target.column), splits, settings.n_jobs
    )


def _log_diagnostics(
    final: Any,
    winner: CandidateResult,
    X_hold: pd.DataFrame,
    y_hold: np.ndarray,
    held_out: pd.DataFrame,
    target: TargetSpec,
    figures_dir: Path,
) -> dict[str, Path]:
    predicted = np.clip(final.predict(X_hold), 0, None)
    permutation = permutation_importances(winner.estimator, X_hold, np.log1p(y_hold))
    figures = {
        "Predicted vs actual (held-out)": (
            "diagnostics/predicted_vs_actual.png",
            predicted_vs_actual(y_hold, predicted, target),
        ),
        "Residuals by property type": (
            "diagnostics/residuals_by_property_type.png",
            residuals_by_property_type(held_out["primary_property_type"], y_hold, predicted, target),
        ),
        "Permutation importance (held-out R² drop)": (
            "importance/permutation.png",
            importance_figure(permutation, "Permutation importance, held-out"),
        ),
    }
    mlflow.log_table(permutation, "importance/permutation.json")
    own = model_importances(winner.estimator)
    if own is not None:
        mlflow.log_table(own, "importance/model.json")
        figures["Model's own importance"] = (
            "importance/model.png",
            importance_figure(own, "Model importance"),
        )
    logged: dict[str, Path] = {}
    for title, (relative, figure) in figures.items():
        path = figures_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=80)
        plt.close(figure)
        mlflow.log_artifact(str(path), artifact_path=str(Path(relative).parent))
        logged[title] = path
    return logged
