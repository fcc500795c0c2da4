"""The champion gate, visible in Dagster: both models' held-out scores and the decision."""

import dagster as dg

from energy_pipeline.domain.columns import TARGET_SPECS, TargetSpec
from energy_pipeline.modelling import SelectionOutcome
from energy_pipeline.orchestration.assets.models import outcome_metadata


def _gate_check(target: TargetSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=f"{target.key}_model",
        name=f"{target.key}_champion_gate",
        description="Passes when the new version became champion; warns when the gate kept the old champion "
        "(or found none fit to serve), with both models' held-out scores.",
    )
    def gate_check(model: SelectionOutcome) -> dg.AssetCheckResult:
        metadata = {k: v for k, v in outcome_metadata(model).items() if k != "diagnostics"}
        return dg.AssetCheckResult(
            passed=model.decision.promote,
            severity=dg.AssetCheckSeverity.WARN,
            description=model.decision.reason,
            metadata=metadata,
        )

    return gate_check


CHAMPION_GATE_CHECKS = [_gate_check(target) for target in TARGET_SPECS]
