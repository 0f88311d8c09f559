"""High-precision patterns: one layer of question understanding, never the only one.

Only phrasings that mean the same thing wherever they appear are here: each pattern was kept
because it matched no message of another label in the understanding dataset's train and dev
splits (`tests/test_router.py` checks it stays so). Everything else — indirect descriptions,
metaphors, other languages, new wordings — is the learned classifier's job
(`graphs/classifier.py`); a red flag from any layer wins.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE

RED_FLAG_PATTERNS: dict[str, re.Pattern[str]] = {
    "self_harm": re.compile(
        r"\b(kill|end|ending|killing)\s+(myself|my\s+(own\s+)?life)\b|\bwant\s+to\s+die\b|"
        r"\bsuicide\s+(note|plan)\b|不想活|想自杀|想死",
        _I,
    ),
    "poisoning": re.compile(r"\b(i|he|she|they|we)\s+(just\s+)?overdosed\b", _I),
    "breathing": re.compile(r"\b(i|he|she)\s+(can'?t|cannot)\s+breathe\b", _I),
    "collapse": re.compile(r"\b(is|he's|she's)\s+(unconscious|unresponsive|not\s+breathing)\b", _I),
}

INJECTION_PATTERNS = re.compile(
    r"\b(ignore|disregard|forget)\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|"
    r"earlier|preceding)\s+(instructions|prompts?|rules|guidelines|directions)\b|"
    r"\b(system|developer)\s+(prompt|message)\b|\bjailbreak|\bdeveloper\s+mode\b|"
    r"忽略(之前|以上|所有)的?(指令|说明|规则)",
    _I,
)


def red_flag_pattern(text: str) -> str | None:
    """The emergency kind a pattern names in the message, or None."""
    for kind, pattern in RED_FLAG_PATTERNS.items():
        if pattern.search(text):
            return kind
    return None


def injection_pattern(text: str) -> bool:
    """Whether the message contains an unmistakable instruction-override phrase."""
    return bool(INJECTION_PATTERNS.search(text))
