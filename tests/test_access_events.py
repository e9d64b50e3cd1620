"""The event catalogue (docs/events.md) lists every event type the library emits."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "src" / "bigledger_customers" / "services"
# event="x.y", event: str = "x.y", type="x.y", "type": "x.y", _event(..., "x.y", ...)
EMITTED = re.compile(
    r'(?:\bevent\s*(?::\s*str\s*)?=\s*|\btype\s*=\s*|"type":\s*|\b_event\([^)"]*)"([a-z_]+(?:\.[a-z_]+)+)"'
)
LISTED = re.compile(r"^### `([a-z_.]+)`$", re.MULTILINE)


def emitted_types() -> set[str]:
    """Event types named where the services write events."""
    return {m.group(1) for path in SERVICES.glob("*.py") for m in EMITTED.finditer(path.read_text("utf-8"))}


def test_every_emitted_event_type_is_in_the_catalogue() -> None:
    listed = set(LISTED.findall((ROOT / "docs" / "events.md").read_text("utf-8")))
    missing = emitted_types() - listed
    assert not missing, f"add these event types to docs/events.md: {sorted(missing)}"


def test_the_scan_finds_the_events_of_the_customer_service() -> None:
    assert {"customer.created", "customer.updated", "customer.status_changed", "customer.deleted"} <= emitted_types()
