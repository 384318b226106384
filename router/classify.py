"""classify: why they contacted and how urgent it is, from the words used (fi, sv, en).

Residents write Finnish, Swedish and English, in a hurry, on phones. Finnish is
agglutinative and compounds freely: one eviction reads häätö, häädön, häädetään,
häätöpäivä, häätöuhka; one rent debt reads vuokravelka, vuokravelan, vuokrarästit,
rästissä. A regex on surface forms misses most of them or matches too much, so the rules
here are written as base forms and matched on **stems**.

Why this approach
- **Snowball stemmers** (the `snowballstemmer` package: pure Python, maintained, no system
  library, one API for Finnish, Swedish and English) turn each rule word and each word of
  the text into a stem. Voikko (Debian's libvoikko) would give real lemmas and compound
  structure for Finnish, but only for Finnish, needs a system library and a dictionary
  package in every setup, and gives nothing for the misspelt words residents type; a
  light stemmer plus a few explicit forms is enough for a short list of rule words and is
  tested sentence by sentence in tests/unit/test_classify.py.
- **Compounds**: in Finnish and Swedish a rule word also matches as a word part: as the
  first part (`häätö*` matches häätöpäivä) and as the last (rästi matches vuokrarästit,
  kris matches livskris), after at least three letters of another word. English words
  match whole words only (court is not courtyard).
- **Gradation** (Finnish k/t/p weakening: häätö/häädön, velka/velan, tuki/tuen) is not
  undone by Snowball; the rules list the weak form beside the base form (`häädön*`).
- **Typos**: ä, ö, å match a, o, a (haato, vuokrarastit, vrakning), letters typed three
  or more times count twice, case does not matter.

Rule words, in each language's field of a `Words` rule, comma-separated:
  `häätö`     the word's stem equals this word's stem (häätöä, häätöön), whole word or
              last part of a compound (fi, sv)
  `häätö*`    the word (or a compound's last part) begins with this word's stem
  `=tänään`   exactly this word, nothing else
  `ensi viikko`   these words in this order, at most `gap` words apart, in one sentence
  `vuokra & maksaa*`  both, in either order, likewise
Rules are small and named; each records the words that matched.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import snowballstemmer

from router.context import Context

LANGUAGES = ("fi", "sv", "en")
COMPOUNDING = frozenset({"fi", "sv"})  # languages whose words are written together
MIN_STEM = 4  # a stem shorter than this is too ambiguous (ensi -> "en"): use the word itself
MIN_PART = 3  # letters a compound's first part has at least
MIN_PREFIX_HEAD = 5  # shorter `word*` keys match a compound's last part by stem only
MAX_SPAN = 16  # words one term covers at most (its keys and the gaps between)
MAX_NAMED = 5  # places a step names at most
MAX_CHARS = 20_000  # of the text: why they wrote is at the start, quotes and footers follow

_STEMMERS = {"fi": "finnish", "sv": "swedish", "en": "english"}
_FOLD = str.maketrans("äöåéèüáàâ", "aoaeeuaaa")
_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"[.!?;\n]+(?:\s|$)|\n")
_REPEATS = re.compile(r"(.)\1{2,}")


@cache
def _stemmer(lang: str) -> Any:
    return snowballstemmer.stemmer(_STEMMERS[lang])


@cache
def stem(lang: str, word: str) -> str:
    """The folded Snowball stem of a lower-case word."""
    return fold(_stemmer(lang).stemWord(word))


def fold(text: str) -> str:
    return text.translate(_FOLD)


def normalise(word: str) -> str:
    """Lower case, composed, a letter typed three or more times as two (hääätö -> häätö)."""
    return _REPEATS.sub(r"\1\1", unicodedata.normalize("NFC", word).lower())


# --- the text ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    lower: str  # normalised (not folded): what the stemmer reads
    folded: str  # lower with ä, ö, å as a, o, a: what keys are compared with
    start: int  # span in the text
    end: int
    sentence: int


class Tokens(list[Token]):
    """The words of a text, in order, with where each distinct word occurs: a rule word is
    compared with each distinct word once, however long the text."""

    def __init__(self, found: Iterable[Token]):
        super().__init__(found)
        self.where: dict[tuple[str, str], list[int]] = {}
        for i, token in enumerate(self):
            self.where.setdefault((token.lower, token.folded), []).append(i)
        self.having: dict[str, set[tuple[str, str]]] = {}  # three letters -> words with them
        for word in self.where:
            for i in range(len(word[1]) - 2):
                self.having.setdefault(word[1][i:i + 3], set()).add(word)
        self._hits: dict[Key, list[int]] = {}

    def hits(self, key: Key) -> list[int]:
        """Indexes of the words the key matches, in order."""
        if key not in self._hits:
            if min(len(key.word), len(key.stem)) < 3:  # "i" (i morgon), "på": every word
                words: Iterable[tuple[str, str]] = self.where
            else:
                words = (self.having.get(key.word[:3], set())
                         | self.having.get(key.stem[:3], set()))
            self._hits[key] = sorted(i for word in words if key.matches(*word)
                                     for i in self.where[word])
        return self._hits[key]


def tokens(text: str) -> Tokens:
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    found, sentence = [], 0
    for m in _WORD.finditer(text):
        while sentence < len(ends) and ends[sentence] <= m.start():
            sentence += 1
        lower = normalise(m.group(0))
        found.append(Token(lower, fold(lower), m.start(), m.end(), sentence))
    return Tokens(found)


# --- rule words -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One rule word: its folded form, its folded stem, and how it must match."""

    lang: str
    word: str
    stem: str
    mode: str  # "stem", "prefix" or "exact"

    @classmethod
    def parse(cls, lang: str, spec: str) -> Key:
        mode = "prefix" if spec.endswith("*") else "exact" if spec.startswith("=") else "stem"
        word = normalise(spec.strip("*="))
        if not word or not _WORD.fullmatch(word):
            raise ValueError(f"rule word {spec!r}: letters only")
        stemmed = stem(lang, word)
        return cls(lang, fold(word), stemmed if len(stemmed) >= MIN_STEM else fold(word), mode)

    def matches(self, lower: str, folded: str) -> bool:
        """Does a word (normalised, and folded) match this key?"""
        if self.mode == "exact":
            return folded == self.word
        return _matches(self, lower, folded)


@lru_cache(maxsize=1 << 16)
def _matches(key: Key, lower: str, folded: str) -> bool:
    """Where the key's first three letters begin (a stem keeps a word's first letters): the
    word itself, or a compound's last part after at least MIN_PART letters (fi, sv)."""
    heads = key.lang in COMPOUNDING
    for i in sorted({*_occurrences(folded, key.word[:3]), *_occurrences(folded, key.stem[:3])}):
        if i and not (heads and i >= MIN_PART and len(folded) - i >= MIN_PART):
            continue
        part, rest = lower[i:], folded[i:]
        if key.mode == "prefix" and (not i or len(key.word) >= MIN_PREFIX_HEAD):
            if rest.startswith(key.word) or stem(key.lang, part).startswith(key.stem):
                return True
        elif rest == key.word or stem(key.lang, part) == key.stem:
            return True
    return False


def _occurrences(text: str, sub: str) -> Iterable[int]:
    i = text.find(sub)
    while i >= 0:
        yield i
        i = text.find(sub, i + 1)


@dataclass(frozen=True)
class Term:
    """One word, or a few words near each other in one sentence."""

    keys: tuple[Key, ...]
    ordered: bool = True
    gap: int = 3  # words allowed between two keys

    @classmethod
    def parse(cls, lang: str, spec: str, gap: int) -> Term:
        if "&" in spec:
            parts, ordered = spec.split("&"), False
            if len(parts) != 2:
                raise ValueError(f"rule words {spec!r}: one & joins two words")
        else:
            parts, ordered = spec.split(), True
        return cls(tuple(Key.parse(lang, p.strip()) for p in parts), ordered, gap)

    def spans(self, toks: Tokens) -> list[tuple[int, int]]:
        """(first, last) token index of every place the term matches."""
        hits = [toks.hits(key) for key in self.keys]
        if not all(hits):
            return []
        if len(self.keys) == 1:
            return [(i, i) for i in hits[0]]
        orders = [hits] if self.ordered else [hits, hits[::-1]]
        found: list[tuple[int, int]] = []
        for order in orders:
            found += _chains(toks, order, self.gap)
        return sorted(set(found))


def _chains(toks: Sequence[Token], hits: list[list[int]], gap: int) -> list[tuple[int, int]]:
    """Spans where each key's hit follows the previous one within `gap` words, one sentence
    (a compound may carry two keys itself: vuokranmaksu)."""
    found = []
    for first in hits[0]:
        at = first
        for later in hits[1:]:
            k = bisect_left(later, at)  # the nearest hit at or after the previous key's
            if k == len(later) or later[k] > at + gap + 1 \
                    or toks[later[k]].sentence != toks[first].sentence:
                break
            at = later[k]
        else:
            found.append((first, at))
    return found


@dataclass(frozen=True)
class Words:
    """A named rule: words in fi, sv and en; `never` lists words that never count for it."""

    name: str
    fi: str = ""
    sv: str = ""
    en: str = ""
    never: tuple[str, ...] = ()
    gap: int = 3
    terms: tuple[Term, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        terms = [Term.parse(lang, spec.strip(), self.gap)
                 for lang in LANGUAGES for spec in getattr(self, lang).split(",")
                 if spec.strip()]
        object.__setattr__(self, "terms", tuple(terms))

    def spans(self, toks: Tokens) -> list[tuple[int, int]]:
        never = {fold(normalise(w)) for w in self.never}
        found = set()
        for term in self.terms:
            for first, last in term.spans(toks):
                if not any(toks[i].folded in never for i in range(first, last + 1)):
                    found.add((first, last))
        return sorted(found)


@dataclass(frozen=True)
class Near:
    """Two rules' words in one sentence, at most `gap` words apart (häätö ... huomenna)."""

    name: str
    one: Words
    other: Words
    gap: int = 6

    def spans(self, toks: Tokens) -> list[tuple[int, int]]:
        found = set()
        others = self.other.spans(toks)
        starts = [b[0] for b in others]
        for a in self.one.spans(toks):
            # only the other's spans that start near this one can be near it
            lo = bisect_left(starts, a[0] - self.gap - 1 - MAX_SPAN)
            hi = bisect_right(starts, a[1] + self.gap + 1)
            for b in others[lo:hi]:
                first, last = min(a[0], b[0]), max(a[1], b[1])
                if (toks[first].sentence == toks[last].sentence
                        and max(a[0], b[0]) - min(a[1], b[1]) <= self.gap + 1):
                    found.add((first, last))
        return sorted(found)


def matched_words(text: str, toks: Sequence[Token], spans: Iterable[tuple[int, int]]) -> str:
    """The words as the resident wrote them, each place once: "rästissä, vuokrarästit"."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1]:  # overlapping: "court hearing", not "court, …"
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    seen: list[str] = []
    for first, last in merged:
        words = text[toks[first].start:toks[last].end]
        if words.lower() not in (s.lower() for s in seen):
            seen.append(words)
    return ", ".join(seen[:MAX_NAMED])


# --- the rules --------------------------------------------------------------------------------

EVICTION = Words(
    "eviction",
    fi="häätö*, häädön*, häätää*, häädetään*, häädety*, häädä*",
    sv="vräk*, avhys*",
    en="evict*, kick out, kicked out, thrown out",
)
HOMELESSNESS = Words(
    "homelessness",
    fi="asunnoton*, asunnottom*, joutua* & kadulle, joudu* & kadulle, jää* & kadulle,"
       "ilman asuntoa, vailla asuntoa, ole asuntoa, ole kotia, kriisimajoitu*, hätämajoitu*",
    sv="bostadslös*, hemlös*, utan bostad, hamna & gatan, bor på gatan",
    en="homeless*, nowhere live, nowhere stay, nowhere go, no place live, no home,"
       "sleeping rough, sleep* & street*, end up street",
    gap=2,
)
CRISIS = Words(
    "crisis",
    fi="kriisi*, väkivalt*, turvakoti*, tulipalo*",
    sv="kris, våld*, skyddat boende",
    en="crisis, crises, violence, violent, abuse, abusive",
)
RENT_DEBT = Words(
    "rent_debt",
    fi="räst*, vuokraräst*, vuokravelk*, vuokravel*, ulosott*, ulosoto*, velka* & vuokra*",
    sv="hyresskuld*, skuld* & hyr*, obetald* & hyr*, kronofog*",
    en="arrear*, behind rent, owe rent, owed rent, owing rent, unpaid rent, owe landlord,"
       "debt & rent",
)
LEASE_TERMINATED = Words(
    "lease_terminated",
    fi="irtisano* & vuokr*, irtisano* & asun*, irtisano* & sopimu*, irtisanomisilmoitu*,"
       "vuokrasopimu* & purk*, vuokrasopimu* & pure*",
    sv="uppsäg*, uppsag*, sagt upp, sade upp, säga upp, sägs upp",
    en="notice quit, terminat* & lease, terminat* & tenancy, terminat* & contract,"
       "landlord & notice",
    never=("irtisanoin", "irtisanouduin", "irtisanoudun", "irtisanoutua", "irtisanoutunut"),
    gap=4,
)
RENT_PAYMENT = Words(
    "rent_payment",
    fi="vuokra & maksaa*, vuokranmaks*, vuokra & myöhässä, vuokra & eräpäivä*",
    sv="hyra & betala*, hyran & betala*, hyresinbetal*, hyran & sen, hyra & sen",
    en="pay* & rent, paid & rent, rent & late",
)
TOO_EXPENSIVE = Words(
    "too_expensive",
    fi="liian kall*, ylikallis*, halvemp* & asunto*, halvemp* & asunno*, vuokra & kork*",
    sv="för dyr*, alltför dyr*, billigare & lägenhet*, billigare & bostad*",
    en="too expensive, afford, cheaper & flat, cheaper & apartment, cheaper & place",
)
DISTURBANCE = Words(
    "disturbance",
    fi="häiriö*, häirits*, häiritä, metel*, melu*, bileet*, juhli* & naapuri*",
    sv="störning*, störande, störa, stör, oväsen*, buller*, bråk*",
    en="disturb*, noise, noisy, loud, antisocial, party & neighbour*",
)
POOR_CARE = Words(
    "poor_care",
    fi="huono hoito, huonosti & hoita*, huonosti & hoide*, siivo*, roska*, sotku*, hamstra*,"
       "likai*",
    sv="vanskö*, skräp*, nedskräp*",
    en="hoard*, poorly kept, dirty flat, rubbish, garbage, mess & flat, mess & apartment",
)
HOUSING_HEALTH = Words(
    "housing_health",
    fi="home, homeinen*, homevaurio*, homeongelm*, homeiti*, homehtu*, kosteus*,"
       "vesivahin*, vesivuoto*, sisäilm*, asumisterv*, lude, luteet, luteita, lutik*, torak*,"
       "tuholai*, kylmä & asunto*",
    sv="mögel*, möglig*, fukt*, vattenskad*, vägglöss*, kackerlack*, ohyra",
    en="mould*, mold, moldy, damp*, bedbug*, cockroach*, leak*, water damage",
    never=("home", "homes"),  # English "home"; Finnish bare "home" is rarer than hometta
)
APARTMENT_SEARCH = Words(
    "apartment_search",
    fi="vaihtaa* & asunto*, vaihtaa* & asunno*, vaihto* & asunno*, asunnonvaih*,"
       "asunnonhak*, hakea & asunto*, hakea & asunno*, haen & asunto*, asuntohakemu*,"
       "vaihtohakemu*, uusi & asunto*, uuden & asunno*, uutta & asunto*, =isompaan,"
       "=pienempään, isomp* & asunto*, pienemp* & asunto*",
    sv="byta & bostad*, byta & lägenhet*, söka & bostad*, söka & lägenhet*, ny lägenhet*,"
       "bostadsbyte*, bostadssök*, större lägenhet*, mindre lägenhet*",
    en="new apartment, new flat, exchange, swap & flat, swap & apartment, move & bigger,"
       "move & smaller, bigger flat, bigger apartment, looking & flat, looking & apartment",
)
CULTURE = Words(
    "culture",
    fi="kulttuuri*, rasis*, rasist*",
    sv="kultur*, rasis*",
    en="cultur*, racis*",
)
SUPPORT = Words(
    "support",
    fi="asumistu*, toimeentulotu*, kela, sosiaalitu*, sosiaalityö*",
    sv="bostadsbidrag*, försörjningsstöd*, socialbidrag*, fpa, folkpensionsanstalt*",
    en="housing benefit, housing allowance, benefit*, social assistance, universal credit",
)

DISCHARGE = Words(
    "discharge",
    fi="kotiut*, sairaala* & pääse*, sairaala* & lähte*, sairaala* & kotiin",
    sv="utskriv*, skrivs ut, skrivas ut, skriven ut",
    en="discharg*, leaving hospital, leave hospital",
)

# (reason code of DOMAIN.md, rule): the first rule whose words occur decides, so the
# gravest come first. A terminated lease with rent owed is a rent-debt case (the rent-debt
# process runs from arrears through the district court to the eviction): rent debt comes
# before a termination, which alone threatens the home (10).
REASON_RULES: list[tuple[int, Words]] = [
    (12, EVICTION),
    (10, HOMELESSNESS),
    (6, CRISIS),
    (2, RENT_DEBT),
    (10, LEASE_TERMINATED),
    (1, RENT_PAYMENT),
    (14, TOO_EXPENSIVE),
    (3, DISTURBANCE),
    (4, POOR_CARE),
    (11, HOUSING_HEALTH),
    (5, APARTMENT_SEARCH),
    (7, CULTURE),
    (13, DISCHARGE),  # a discharge from hospital: clarify the housing and the support
    (13, SUPPORT),
]

SOON = Words(
    "soon",
    fi="=huomenna, =huomiseksi, =ylihuomenna, =tänään, =tänäpänä, ensi viikko*,"
       "tällä viikolla, =viikonloppuna, maanantai*, tiistai*, keskiviikko*, torstai*,"
       "perjantai*, lauantai*, sunnuntai*",
    sv="imorgon, i morgon, =idag, i dag, =ikväll, nästa veck*, denna veck*, här veck*,"
       "=helgen, måndag*, tisdag*, onsdag*, torsdag*, fredag*, lördag*, söndag*",
    en="tomorrow, today, tonight, next week, this week, weekend, monday, tuesday,"
       "wednesday, thursday, friday, saturday, sunday",
    gap=1,
)
COURT = Words(
    "court",
    fi="käräjä*, =haaste, =haasteen, =haasteessa, haastettu*, =haastettiin, haastehakemu*,"
       "=oikeudenkäynti, oikeudenkäynni*, =oikeuteen, =oikeudessa",
    sv="tingsrät*, stämningsansök*, rättegång*, domstol*, hyresnämnd*",
    en="court, courts, summons, tribunal, court hearing, possession order",
)
# (level, rule, step code), gravest first: the first that matches sets the urgency.
# "urgent" is an eviction the words say is near; "high" is any eviction, a terminated
# lease, a court, a discharge from hospital, a crisis or a resident without a home.
URGENCY_RULES: list[tuple[str, Words | Near, str]] = [
    ("urgent", Near("imminent_eviction", EVICTION, SOON), "imminent"),
    ("high", EVICTION, "urgent"),
    ("high", LEASE_TERMINATED, "urgent"),
    ("high", COURT, "urgent"),
    ("high", DISCHARGE, "urgent"),
    ("high", CRISIS, "urgent"),
    ("high", HOMELESSNESS, "urgent"),
]
URGENCY = ("normal", "high", "urgent")  # in rising order


def classify(ctx: Context) -> None:
    text = unicodedata.normalize("NFC", f"{ctx.inbound.subject or ''}\n{ctx.text[:MAX_CHARS]}")
    toks = tokens(text)
    placement = ctx.placement
    if ctx.inbound.topic is not None:
        placement.reason = ctx.inbound.topic
        ctx.record("classify", "topic_chosen", reason=ctx.inbound.topic)
    else:
        for code, rule in REASON_RULES:
            spans = rule.spans(toks)
            if spans:
                placement.reason = code
                ctx.record("classify", "reason", reason=code,
                           words=matched_words(text, toks, spans), rule_name=rule.name)
                break
        else:
            ctx.record("classify", "reason_unknown")
    if ctx.inbound.auto_reply:
        ctx.record("classify", "auto_reply")
    for level, urgency_rule, step in URGENCY_RULES:
        spans = urgency_rule.spans(toks)
        if spans:
            placement.urgency = level
            words = matched_words(text, toks, spans)
            if step == "imminent":
                ctx.record("classify", "imminent", words=words, rule_name=urgency_rule.name)
            else:
                ctx.record("classify", "urgent", words=words, rule_name=urgency_rule.name)
            break
