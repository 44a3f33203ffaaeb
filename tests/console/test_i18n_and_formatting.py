"""The translation table, language choice and the formatting helpers (pure: no app, no browser)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.console import formatting as fmt
from gateway.console.i18n import LABELS, choose_language, from_accept_language, label, translate

CONSOLE_CODE = Path(__file__).resolve().parents[2] / "gateway" / "console"
TEMPLATES = CONSOLE_CODE / "templates"
SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*\)""")
LABEL_CALL = re.compile(r"""\blabel\(\s*["']([a-z_]+)["']\s*,\s*["']([a-z0-9_]+)["']\s*\)""")


def _template_sources() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(TEMPLATES.glob("*.html"))}


def test_every_label_key_a_template_uses_exists_in_both_languages() -> None:
    used = {key for source in _template_sources().values() for key in KEY_CALL.findall(source)}
    used |= {
        f"{group}.{value}" for source in _template_sources().values() for group, value in LABEL_CALL.findall(source)
    }
    assert len(used) > 100, "the template scan found too few keys; has the t() call syntax changed?"
    missing = sorted(key for key in used if key not in LABELS)
    assert not missing, missing
    blank = sorted(key for key in used if not all(text.strip() for text in LABELS[key]))
    assert not blank, blank


def test_every_key_passed_around_as_a_string_exists_too() -> None:
    """Keys handed to macros (``act("acknowledge", "cmp.acknowledge", …)``) or chosen in Python (``"login.failed"``)."""
    groups = {key.split(".")[0] for key in LABELS}
    alternatives = "|".join(sorted(groups))
    literal = re.compile(r"""["']((?:""" + alternatives + r""")\.[a-z0-9_]+)["']""")
    sources = [*_template_sources().values(), *(p.read_text(encoding="utf-8") for p in CONSOLE_CODE.glob("*.py"))]
    used = {key for source in sources for key in literal.findall(source) if not key.endswith((".html", ".py"))}
    assert {"cmp.acknowledge", "login.failed", "error.csrf", "imp.limit_hint"} <= used
    assert not sorted(used - set(LABELS))


def test_every_entry_has_chinese_and_english_text() -> None:
    for key, (zh, en) in LABELS.items():
        assert zh.strip() and en.strip(), key
        assert re.search(r"[\u4e00-\u9fff]", zh) or key in {"cmp.sla", "nav.language"}, f"{key}: no Chinese in {zh!r}"


def test_labels_and_vocabulary_values_translate_with_a_visible_fallback() -> None:
    assert translate("nav.dashboard", "zh") == "总览"
    assert translate("nav.dashboard", "en") == "Dashboard"
    assert label("state", "acknowledged", "zh") == "已受理"
    assert label("state", "acknowledged", "en") == "Acknowledged"
    assert label("state", "some_future_state", "zh") == "some_future_state"
    assert translate("no.such.key", "en") == "no.such.key"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        (None, None, None, "zh"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "fr-FR, en;q=0.5, zh-CN;q=0.8", "zh"),
        (None, None, "de-DE", "zh"),
        (None, None, "zh;q=0, en;q=0.1", "en"),
        (None, "zh", "en-US", "zh"),
        ("en", "zh", "zh-CN", "en"),
        ("xx", None, "en", "en"),
    ],
)
def test_language_is_the_query_then_the_cookie_then_accept_language(
    query: str | None, cookie: str | None, header: str | None, expected: str
) -> None:
    assert choose_language(query, cookie, header) == expected


def test_accept_language_ignores_unparsable_weights() -> None:
    assert from_accept_language("en;q=abc, zh") == "zh"


def test_money_keeps_its_currency_in_each_language() -> None:
    assert fmt.format_money("1234567.5", "CNY", "zh") == "¥1,234,567.50"
    assert fmt.format_money("1234567.5", "CNY", "en") == "CN¥1,234,567.50"
    assert fmt.format_money("12.5", "USD", "zh") == "US$12.50"
    assert fmt.format_money("12.5", "USD", "en") == "$12.50"
    assert fmt.format_money("-800.005", "EUR", "en") == "-€800.01"
    assert fmt.format_money("1500", "JPY", "en") == "¥1,500"
    assert fmt.format_money("10", "CHF", "zh") == "CHF 10.00"
    assert fmt.format_money(None, "CNY", "zh") == "—"


def test_compact_figures_use_wan_and_yi_in_chinese_and_k_m_b_in_english() -> None:
    assert fmt.format_money("25806205.07", "CNY", "zh", compact=True) == "¥2,580.6万"
    assert fmt.format_money("25806205.07", "CNY", "en", compact=True) == "CN¥25.81M"
    assert fmt.compact_number("804000000", "zh") == "8.04亿"
    assert fmt.compact_number("8040000000", "en") == "8.04B"
    assert fmt.compact_number("950", "en") == "950"


def test_numbers_and_percentages() -> None:
    assert fmt.format_number("1234567.8900", "zh") == "1,234,567.89"
    assert fmt.format_number("72.85", "en", 1) == "72.9"
    assert fmt.format_number("not a number", "en") == "—"
    assert fmt.format_percent("85.25", "zh") == "85.3%"


def test_dates_and_times_are_shown_in_the_company_zone() -> None:
    late_evening_utc = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)  # 01:30 on 6 March in Shanghai
    assert fmt.format_datetime(late_evening_utc, "zh", SHANGHAI) == "2026年3月6日 01:30"
    assert fmt.format_datetime("2026-03-05T17:30:00Z", "en", SHANGHAI) == "6 Mar 2026 01:30"
    assert fmt.format_date("2026-03-05T17:30:00+00:00", "zh", SHANGHAI) == "2026年3月6日"
    assert fmt.format_date(date(2026, 12, 1), "en", SHANGHAI) == "1 Dec 2026"
    assert fmt.format_date("2026-11-23", "zh", SHANGHAI) == "2026年11月23日"
    assert fmt.format_datetime(None, "zh", SHANGHAI) == "—"
