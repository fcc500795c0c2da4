"""The validation gate: a new model becomes champion only when it is good enough and truly better."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateFloors:
    """Absolute quality a champion must reach on the held-out split."""

    min_r2_log: float
    max_median_ape: float


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    candidate: dict[str, float]
    champion: dict[str, float] | None


def decide(
    candidate: dict[str, float], champion: dict[str, float] | None, floors: GateFloors, margin: float
) -> GateDecision:
    """Both models are scored on the same held-out rows; R² (log) must beat the champion's by `margin`."""
    failures = []
    if candidate["r2_log"] < floors.min_r2_log:
        failures.append(f"R²(log) {candidate['r2_log']:.4f} below the floor {floors.min_r2_log}")
    if candidate["median_ape"] > floors.max_median_ape:
        failures.append(f"median APE {candidate['median_ape']:.4f} above the floor {floors.max_median_ape}")
    if failures:
        return GateDecision(False, "; ".join(failures), candidate, champion)
    if champion is None:
        return GateDecision(True, "no champion yet and the floors are met", candidate, champion)
    needed = champion["r2_log"] + margin
    if candidate["r2_log"] < needed:
        return GateDecision(
            False,
            f"R²(log) {candidate['r2_log']:.4f} does not beat the champion's {champion['r2_log']:.4f} "
            f"by the margin {margin}",
            candidate,
            champion,
        )
    return GateDecision(
        True,
        f"R²(log) {candidate['r2_log']:.4f} beats the champion's {champion['r2_log']:.4f} by "
        f"{candidate['r2_log'] - champion['r2_log']:.4f} (margin {margin})",
        candidate,
        champion,
    )
