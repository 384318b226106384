"""The router's reference data (postal code → area, partners' domains) is read from the
database once a minute, not once a mail, and never outlives a change by more than that."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, event
from sqlalchemy.orm import Session

from inbox.models import Area, AreaPostalCode, Base, Partner
from inbox.reference import AreaDef, PartnerDef, sync_reference_data
from inbox.reference_cache import ReferenceCache

AREAS = [AreaDef("lantinen", "Läntinen", {"00320": "Etelä-Haaga"}),
         AreaDef("itainen", "Itäinen", {"00980": "Vuosaari"})]
KELA = PartnerDef("kela", "Kela", ("kela.fi",))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def session() -> Iterator[tuple[Session, list[str]]]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[Area.__table__, AreaPostalCode.__table__,
                                             Partner.__table__])
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    with Session(engine) as s:
        sync_reference_data(s, AREAS, [KELA])
        s.commit()
        statements.clear()
        yield s, statements
    engine.dispose()


def test_a_hundred_mails_ask_the_database_once(session: tuple[Session, list[str]]):
    s, statements = session
    cache = ReferenceCache(clock=Clock())
    for _ in range(100):
        assert cache.postal_areas(s, {"00320", "99999"}) == {
            "00320": ("lantinen", "Läntinen", "Etelä-Haaga")}
        assert cache.partner_by_domain(s, "example.com") is None
    assert len(statements) == 2  # the postal codes and the partners' domains, once


def test_a_partner_is_read_as_it_is_now(session: tuple[Session, list[str]]):
    s, _ = session
    cache = ReferenceCache(clock=Clock())
    first = cache.partner_by_domain(s, "KELA.fi")
    assert first is not None and first.name == "Kela"
    sync_reference_data(s, AREAS, [PartnerDef("kela", "Kansaneläkelaitos", ("kela.fi",))])
    again = cache.partner_by_domain(s, "kela.fi")  # its row, not a copy from a minute ago
    assert again is not None and again.name == "Kansaneläkelaitos"


def test_a_change_is_seen_once_the_minute_is_over(session: tuple[Session, list[str]]):
    s, _ = session
    clock = Clock()
    cache = ReferenceCache(clock=clock)
    assert cache.postal_areas(s, {"00320"})["00320"][0] == "lantinen"
    sync_reference_data(s, [AreaDef("itainen", "Itäinen", {"00320": "Etelä-Haaga"})], [])
    clock.now += 59
    assert cache.postal_areas(s, {"00320"})["00320"][0] == "lantinen"
    clock.now += 2
    assert cache.postal_areas(s, {"00320"})["00320"][0] == "itainen"


def test_an_unprepared_database_is_not_remembered(session: tuple[Session, list[str]]):
    s, _ = session
    s.execute(delete(AreaPostalCode))
    cache = ReferenceCache(clock=Clock())
    assert cache.postal_areas(s, {"00320"}) == {}
    sync_reference_data(s, AREAS, [KELA])  # the serve prepares it a moment later
    assert cache.postal_areas(s, {"00320"})["00320"][0] == "lantinen"
