"""Where a failed run is recorded: a JSON-lines file in the artifacts folder, and a webhook when configured."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from pydantic import Field


class FailureAlerts(dg.ConfigurableResource):
    """Every failed run appends one line to `<artifacts>/failures.jsonl`; with a webhook URL it is also posted
    (Slack-compatible `text` plus the structured fields)."""

    record_file: str = Field(description="JSON-lines file that keeps the failure history")
    webhook_url: str = Field(default="", description="POST target for each failure; empty: record only")
    timeout_seconds: float = Field(default=10.0)

    def send(self, failure: dict[str, Any]) -> bool:
        """Record, then post; returns whether the webhook accepted it (False when none is configured)."""
        record = {"recorded_at": datetime.now(UTC).isoformat(timespec="seconds"), **failure}
        path = Path(self.record_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, default=str) + "\n")
        if not self.webhook_url:
            return False
        text = f"energy-pipeline: run {failure['run_id']} of {failure['job']} failed: {failure['error']}"
        response = httpx.post(self.webhook_url, json={"text": text, **record}, timeout=self.timeout_seconds)
        response.raise_for_status()
        return True
