"""What possible duplicates are matched by (registry/duplicates.py): a company name's key and a credit code's family.

*Name key.* NFKC (full-width letters, digits, brackets and spaces become half-width), case-folded, punctuation and
whitespace dropped, common legal-form suffixes cut off (有限公司, 股份有限公司, 有限责任公司 … and Co., Ltd.,
Limited, Inc., Corp. …): ``上海汽车集团股份有限公司``, ``上海汽车集团 有限公司`` and ``上海汽车集团`` share one key.

*Credit-code family.* A unified social credit code (GB 32100-2015) is: registration authority (1 character), entity
type (1), administrative division (6: province 2, city 2, county 2), organisation code (9, GB 11714) and the check
character. Two codes are one family when they share the registration authority, the province-level division and the
organisation code: the same organisation registered again in the same province (as another entity type, in another
city or county).
"""

from __future__ import annotations

import re
import unicodedata

# Legal-form suffixes, longest first (cut off repeatedly: "集团股份有限公司" keeps "集团").
CHINESE_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "总公司", "分公司", "公司")
ENGLISH_SUFFIXES = frozenset(
    {"co", "ltd", "limited", "company", "inc", "incorporated", "corp", "corporation", "llc", "plc", "gmbh", "ag"}
)
_SEPARATORS = re.compile(r"[\s\W_]+", re.UNICODE)


def name_key(name: str | None) -> str | None:
    """The key a company name is compared by (None for a missing or blank name)."""
    if name is None:
        return None
    text = unicodedata.normalize("NFKC", name).casefold()
    words = [w for w in _SEPARATORS.split(text) if w]
    while len(words) > 1 and words[-1] in ENGLISH_SUFFIXES:
        words.pop()
    key = "".join(words)
    cut = True
    while cut:
        cut = False
        for suffix in CHINESE_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, cut = key[: -len(suffix)], True
                break
    return key or None


def credit_family(code: str | None) -> str | None:
    """The family of a (valid, upper-case) credit code: registration authority, province and organisation code."""
    if code is None or len(code) != 18:
        return None
    return code[0] + code[2:4] + code[8:17]
