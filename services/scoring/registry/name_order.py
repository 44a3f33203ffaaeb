"""The order of account names: a sort key spelled in toneless pinyin, so 阿里 < 百度 < 腾讯, with Latin names
between them by their letters (阿里 (a li) < Apple < 百度 (bai du) < IBM < 腾讯 (teng xun))."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

# Stored keys are cut here (names tie beyond it; the list then orders by the name itself and the id).
SORT_KEY_LENGTH = 600
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def _ascii_fold(text: str) -> str:
    """Full-width forms and accents folded away: ``ＩＢＭ`` → ``ibm``, ``Nestlé`` → ``nestle``."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(c for c in folded if not unicodedata.combining(c)).lower()


@cache
def _pinyin() -> Any:
    """pypinyin, imported on the first name to spell: its phrase dictionary (what makes 重庆 chong qing) takes
    ~55 MiB, which a scoring process that writes no account name never needs (docs/BENCHMARKS.md, footprint)."""
    import pypinyin

    return pypinyin


def _spell(name: str) -> list[str]:
    pypinyin = _pinyin()
    return list(pypinyin.lazy_pinyin(name, style=pypinyin.Style.NORMAL, errors="default"))


def name_sort_key(name: str) -> str:
    """The sort key of a name: words of Latin letters and digits as they are (lower case), each Chinese character
    as its toneless pinyin (by phrase, so 重庆 is chong qing), separated by single spaces. Compared byte by byte
    (space < digits < letters), so keys sort the same on every backend. Characters with no Latin spelling
    (other scripts) are kept after the spelled part."""
    words: list[str] = []
    rest: list[str] = []
    for part in _spell(name):
        folded = _ascii_fold(part)
        words += [w for w in _NOT_WORD.split(folded) if w]
        rest += [c for c in folded if not c.isascii() and c.isalnum()]
    key = " ".join(words)
    if rest:
        key = f"{key} ~{''.join(rest)}" if key else "~" + "".join(rest)
    return key[:SORT_KEY_LENGTH]
