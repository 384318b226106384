"""The case vocabulary's codes (inbox/taxonomy.py) in words: each code's English message id,
translated by the catalogs (web/locale/<lang>/LC_MESSAGES/cases.po).

The deck's numbered taxonomies are the exception: in Finnish, rent-debt steps and reasons
are the reference data's labels (config/reference_data.py, replaceable by TOML); in Swedish
and English the steps come from here and the reasons from routing.po (`reason.N`).
"""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:
    """Marks a message id for extraction; translated where it is shown."""
    return message


OUTCOMES = {
    "eviction_prevented": N_("Eviction prevented"),
    "debt_withdrawn_from_court": N_("Rent debt withdrawn from the district court"),
    "lease_continues_fixed_term": N_("Lease continues, fixed-term"),
    "lease_continues_indefinitely": N_("Lease continues indefinitely"),
    "eviction_cancelled": N_("Eviction cancelled"),
    "service_received": N_("The client received the service"),
    "eviction": N_("Eviction"),
    "moved": N_("Moved away"),
    "unreachable": N_("No longer reachable"),
    "other": N_("Other"),
}
INTERVENTIONS = {
    "rent_debt": N_("Rent debt"),
    "poor_care": N_("Poor care of the apartment"),
    "disturbance": N_("Disturbances"),
    "dispute_mediation": N_("Dispute mediation"),
    "homelessness_search": N_("Apartment search under threat of homelessness"),
    "cheaper_apartment": N_("Search for a cheaper apartment"),
}
HOUSING_TYPES = {
    "city_company": N_("City property company"),
    "private_landlord": N_("Private landlord"),
    "private_sector": N_("Private-sector landlord"),
    "non_profit": N_("Non-profit landlord"),
    "crisis_accommodation": N_("Crisis accommodation"),
    "relatives_friends": N_("With relatives or friends"),
    "owner_occupied": N_("Owner-occupied home"),
    "right_of_occupancy": N_("Right-of-occupancy home"),
    "subtenant": N_("Subtenant"),
    "other": N_("Other"),
}
PARTNERS = {
    "heka": N_("Heka or its area company"),
    "kela": N_("Kela"),
    "adult_social_work": N_("Adult social work"),
    "elderly_services": N_("Services for older people"),
    "disability_services": N_("Disability services"),
    "child_welfare": N_("Child welfare"),
    "home_care": N_("Home care"),
    "psychiatric_outpatient": N_("Psychiatric outpatient care"),
    "stadin_asunnot": N_("Stadin asunnot (city rental housing)"),
    "other": N_("Other"),
}
MEETINGS = {
    "office": N_("Meeting at the office"),
    "home_visit": N_("Home visit"),
    "phone_advice": N_("Phone advice"),
    "network_meeting": N_("Network meeting"),
}
FOLLOW_UP_KINDS = {
    "follow_up": N_("Follow-up"),
    "interim_evaluation": N_("Interim evaluation"),
}
LETTERS = {
    "appointment": N_("Appointment letter"),
    "contact_request": N_("Contact-request letter"),
}
# What each timeline entry is: the case events of inbox/case_work.py, letters, contacts.
EVENTS = {
    "step": N_("Process step"),
    "intervention": N_("Intervention"),
    "partner": N_("Partner in network work"),
    "goal": N_("Goal set with the resident"),
    "meeting": N_("Meeting"),
    "note": N_("Internal note"),
    "letter": N_("Letter sent"),
    "handover": N_("Handed over"),
    "closed": N_("Case closed"),
    "contact": N_("Contact"),
}
STEPS = {
    1: N_("Clarifying the rent-debt situation"),
    2: N_("Rent-payment monitoring"),
    3: N_("Rent-debt monitoring"),
    4: N_("Payment agreement made"),
    5: N_("Rent debt prevented from going to the district court"),
    6: N_("Rent-debt case withdrawn from the district court"),
    7: N_("Rent debt went to court"),
    8: N_("Lease continues after negotiation"),
    9: N_("Lease continues as fixed-term"),
    10: N_("Lease continues indefinitely"),
    11: N_("Eviction cancelled"),
    12: N_("Eviction process pending"),
    13: N_("Eviction cancelled and lease continues fixed-term"),
    14: N_("Eviction"),
}
URGENCY = {"normal": N_("Normal"), "high": N_("High"), "urgent": N_("Urgent")}
CASE_STATUS = {"open": N_("Open"), "closed": N_("Closed")}
CONTACT_STATUS = {"open": N_("Open"), "answered": N_("Answered"), "closed": N_("Closed")}
CHANNELS = {"chat": N_("Chat"), "email": N_("Email"), "phone": N_("Phone")}
LANGUAGE_NAMES = {"fi": N_("Finnish"), "sv": N_("Swedish"), "en": N_("English")}
KEY_DATES = {
    "eviction_date": N_("Eviction date"),
    "hearing_date": N_("District-court hearing"),
    "discharge_date": N_("Hospital discharge"),
}


def code_words(gettext: Callable[[str], str], table: dict[str, str]) -> dict[str, str]:
    """One table of codes in the reader's words."""
    return {code: gettext(message) for code, message in table.items()}


def step_words(lang: str, gettext: Callable[[str], str], labels: dict[int, str]
               ) -> dict[int, str]:
    """The 14 rent-debt steps: the reference data's labels in Finnish, the catalog's else."""
    if lang == "fi":
        return {code: labels.get(code, gettext(message)) for code, message in STEPS.items()}
    return {code: gettext(message) for code, message in STEPS.items()}
