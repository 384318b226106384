"""The case vocabulary of DOMAIN.md: codes only; words come from the catalogs (cases.po)
and, for the deck's numbered taxonomies, from the reference data."""

from __future__ import annotations

from dataclasses import dataclass, field

INTERVENTIONS = ("rent_debt", "poor_care", "disturbance", "dispute_mediation",
                 "homelessness_search", "cheaper_apartment")
OUTCOMES = ("eviction_prevented", "debt_withdrawn_from_court", "lease_continues_fixed_term",
            "lease_continues_indefinitely", "eviction_cancelled", "service_received",
            "eviction", "moved", "unreachable", "other")
HOUSING_TYPES = ("city_company", "private_landlord", "private_sector", "non_profit",
                 "crisis_accommodation", "relatives_friends", "owner_occupied",
                 "right_of_occupancy", "subtenant", "other")
PARTNERS = ("heka", "kela", "adult_social_work", "elderly_services", "disability_services",
            "child_welfare", "home_care", "psychiatric_outpatient", "stadin_asunnot", "other")
MEETINGS = ("office", "home_visit", "phone_advice", "network_meeting")
FOLLOW_UP_KINDS = ("follow_up", "interim_evaluation")


@dataclass(frozen=True)
class CaseVocabulary:
    """What a case may record; the numbered taxonomies come from the reference data."""

    steps: frozenset[int] = frozenset(range(1, 15))
    reasons: frozenset[int] = frozenset({1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14})
    who_contacted: frozenset[int] = frozenset(range(1, 11))
    interventions: tuple[str, ...] = INTERVENTIONS
    outcomes: tuple[str, ...] = OUTCOMES
    housing_types: tuple[str, ...] = HOUSING_TYPES
    partners: tuple[str, ...] = PARTNERS
    meetings: tuple[str, ...] = MEETINGS
    follow_up_kinds: tuple[str, ...] = FOLLOW_UP_KINDS
    # Key dates drive urgency: an eviction this close is urgent, a hearing this close high.
    urgent_eviction_days: int = 14
    high_hearing_days: int = 30
    high_discharge_days: int = 7
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)
