"""What each staff role may do, written once (Act 703/2023: use by role and task).

- counsellor: works contacts and cases of their own areas (and the city-wide pool);
- lead: works every area, keeps reply templates, sees failed callbacks and unparsed mail;
- admin: what a lead may, and manages staff accounts and erasure;
- auditor: reads the use and disclosure logs and nothing else (no resident's record).
"""

from __future__ import annotations

ROLES = ("counsellor", "lead", "admin", "auditor")
CAPABILITIES: dict[str, frozenset[str]] = {
    "counsellor": frozenset({"work"}),
    "lead": frozenset({"work", "all_areas", "lead"}),
    "admin": frozenset({"work", "all_areas", "lead", "admin"}),
    "auditor": frozenset({"audit"}),
}


def can(role: str, capability: str) -> bool:
    return capability in CAPABILITIES.get(role, frozenset())
