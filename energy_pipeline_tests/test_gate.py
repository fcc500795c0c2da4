from __future__ import annotations

from energy_pipeline.models.gate import GateFloors, decide

FLOORS = GateFloors(min_r2_log=0.6, max_median_ape=0.45)


def scores(r2_log: float, median_ape: float = 0.35) -> dict[str, float]:
    return {"r2_log": r2_log, "median_ape": median_ape}


def test_first_model_meeting_the_floors_is_promoted() -> None:
    decision = decide(scores(0.7), None, FLOORS, margin=0.01)
    assert decision.promote and "no champion" in decision.reason


def test_floors_block_whatever_the_champion() -> None:
    low_r2 = decide(scores(0.5), None, FLOORS, margin=0.0)
    high_error = decide(scores(0.9, median_ape=0.6), scores(0.1), FLOORS, margin=0.0)
    assert not low_r2.promote and "below the floor" in low_r2.reason
    assert not high_error.promote and "median APE" in high_error.reason


def test_must_beat_the_champion_by_the_margin() -> None:
    assert not decide(scores(0.705), scores(0.70), FLOORS, margin=0.01).promote
    promoted = decide(scores(0.72), scores(0.70), FLOORS, margin=0.01)
    assert promoted.promote and "beats the champion" in promoted.reason
