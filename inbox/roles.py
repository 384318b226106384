"""What each staff role may do, written once (Act 703/2023: use by role and task).

- counsellor: works contacts and cases of their own areas (and the city-wide pool); gives
  a resident they hold (their case or contact) the export of their data (`export_own`);
- lead: works every area, keeps reply templates, sees failed callbacks and unparsed mail,
  gives any resident the export of their data (`export`);
- admin: what a lead may, and manages staff accounts and erasure (`erase`);
- auditor: reads the use and disclosure logs and nothing else (no resident's record).
"""

from __future__ import annotations

ROLES = ("counsellor", "lead", "admin", "auditor")
CAPABILITIES: dict[str, frozenset[str]] = {
    "counsellor": frozenset({"work", "export_own"}),
    "lead": frozenset({"work", "all_areas", "lead", "export"}),
    "admin": frozenset({"work", "all_areas", "lead", "admin", "export", "erase"}),
    "auditor": frozenset({"audit"}),
}


def can(role: str, capability: str) -> bool:
    return capability in CAPABILITIES.get(role, frozenset())
