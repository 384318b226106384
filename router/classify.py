"""classify: why they contacted and how urgent it is, from the words used (fi, sv, en)."""

from __future__ import annotations

import re

from router.context import Context

# Reason codes of DOMAIN.md; the first matching row wins, so the gravest come first.
REASON_WORDS: list[tuple[int, str]] = [
    (12, r"häätö|häädö|vräkning|evict"),
    (10, r"asunnottom|kadulle|bostadslös|homeless"),
    (6, r"kriisi|kris(?!t)|crisis"),
    (2, r"vuokravel|hyresskuld|rent (debt|arrears)|arrears"),
    (1, r"vuokranmaks|vuokra.{0,20}maksa|maksa.{0,20}vuokra|betala hyran"
        r"|pay(ing)? (the )?rent"),
    (14, r"liian kallis|ylikallis|för dyr|too expensive|can't afford"),
    (3, r"häiriö|häiritsev|störning|disturb|noise"),
    (4, r"huono hoito|siivo|vanskött|hoarding"),
    (11, r"\bhomee|\bhomett|homeong|homeiti|kosteus|asumisterv|mögel|mould|mold\b"),
    (5, r"asunnon vaihto|asunnon haku|vaihtaa asunto|byta bostad|new apartment|exchange"),
    (7, r"kulttuuri|kultur|cultur"),
]
URGENT_WORDS = (
    r"häätö|häädö|vräkning|evict|käräjä|tingsrätt|\bcourts?\b|kotiut|discharg|utskriv"
    r"|kriisi|kris\b|crisis|huomenna|tomorrow|i morgon"
)


def classify(ctx: Context) -> None:
    text = f"{ctx.inbound.subject or ''}\n{ctx.text}".lower()
    placement = ctx.placement
    if ctx.inbound.topic is not None:
        placement.reason = ctx.inbound.topic
        ctx.record("classify", "topic_chosen", reason=ctx.inbound.topic)
    else:
        for code, words in REASON_WORDS:
            match = re.search(words, text)
            if match:
                placement.reason = code
                ctx.record("classify", "reason", reason=code, words=match.group(0))
                break
        else:
            ctx.record("classify", "reason_unknown")
    if ctx.inbound.auto_reply:
        ctx.record("classify", "auto_reply")
    urgent = re.search(URGENT_WORDS, text)
    if urgent:
        placement.urgency = "high"
        ctx.record("classify", "urgent", words=urgent.group(0))
