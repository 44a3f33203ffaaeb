"""FX rates and money: rates per currency per date (the latest on or before the day), their API, and
exposure, utilisation and the credit check converted into the limit's currency with the rates shown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from services.risk.fx.conversion import Converter, MissingRate, Quote, RateTable, convert
from tests.risk.support import add_account, make_app, outbox_events
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")
CHECKER = auth("risk_officer", user_id="risk-liu")
SUPERVISOR = auth("supervisor", user_id="sup-wang")
TABLE = RateTable(
    day=date(2026, 3, 15),
    quotes={
        "USD": Quote("USD", D("7.1234"), date(2026, 3, 10)),
        "JPY": Quote("JPY", D("0.0482"), date(2026, 3, 1)),
    },
)


# ---------------------------------------------------------------- the pure core


def test_a_rate_against_the_base_is_used_as_is_and_a_cross_rate_is_rounded_to_12_places():
    assert TABLE.rate("USD", "CNY") == (D("7.1234"), date(2026, 3, 10))
    # CNY → USD is 1 ÷ 7.1234; JPY → USD rests on both quotes and carries the older date.
    assert TABLE.rate("CNY", "USD") == (D("0.140382401662"), date(2026, 3, 10))
    assert TABLE.rate("JPY", "USD") == (D("0.006766431760"), date(2026, 3, 1))


def test_each_item_is_rounded_to_four_places_and_the_converter_lists_what_it_converted_per_figure():
    assert convert(D("0.00005"), D("1")) == D("0.0001")  # half up
    converter = Converter(table=TABLE, target="CNY")
    assert converter.to_target(D("1000"), "USD", figure="receivables") == D("7123.4000")
    assert converter.to_target(D("0.5"), "USD", figure="receivables") == D("3.5617")
    assert converter.to_target(D("500"), "CNY", figure="receivables") == D("500")  # nothing to convert
    assert converter.to_target(D("100000"), "JPY", figure="open_orders") == D("4820.0000")
    assert [(c.figure, c.currency, c.amount, c.rate, c.converted_amount) for c in converter.conversions()] == [
        ("receivables", "USD", D("1000.5"), D("7.1234"), D("7126.9617")),
        ("open_orders", "JPY", D("100000"), D("0.0482"), D("4820.0000")),
    ]


def test_a_currency_without_a_rate_is_refused_with_the_currency_named():
    assert TABLE.missing(["USD", "EUR", "CNY", "GBP"], "CNY") == ["EUR", "GBP"]
    assert TABLE.missing(["CNY"], "CNY") == []
    assert TABLE.missing(["CNY"], "EUR") == ["EUR"]  # converting into EUR needs the EUR rate
    with pytest.raises(MissingRate) as refused:
        Converter(table=TABLE, target="CNY").to_target(D("1"), "EUR", figure="receivables")
    assert "EUR" in refused.value.detail and refused.value.extra["missing_currencies"] == ["EUR"]


# ---------------------------------------------------------------- the rate API


async def test_rates_are_set_listed_and_the_latest_on_or_before_a_date_is_used(sqlite_database):
    app = make_app(await sqlite_database("risk"))  # business date 2026-03-15
    async with running(app) as client:
        for day, rate in (("2026-03-01", "7.10"), ("2026-03-10", "7.1234"), ("2026-03-20", "7.30")):
            put = await client.put(f"/risk/fx-rates/USD/{day}", json={"rate": rate}, headers=RISK)
            assert put.status_code == 200, put.text
        body = put.json()
        assert (body["currency"], body["base_currency"], body["rate"], body["set_by"]) == (
            "USD",
            "CNY",
            "7.3",
            "risk-chen",
        )
        in_force = (await client.get("/risk/fx-rates/USD/in-force", headers=RISK)).json()
        assert (in_force["on"], in_force["valid_on"], in_force["rate"]) == ("2026-03-15", "2026-03-10", "7.1234")
        early = await client.get("/risk/fx-rates/USD/in-force?on=2026-02-28", headers=RISK)
        assert early.status_code == 404
        listed = await client.get("/risk/fx-rates?currency=USD&valid_from=2026-03-05&valid_to=2026-03-31", headers=RISK)
        assert [r["valid_on"] for r in listed.json()["items"]] == ["2026-03-20", "2026-03-10"]
        backwards = await client.get("/risk/fx-rates?valid_from=2026-04-01&valid_to=2026-03-01", headers=RISK)
        assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "valid_from"

        # Changing a rate is audited (who, when, before → after) and published; the same rate again is a no-op.
        await client.put("/risk/fx-rates/USD/2026-03-10", json={"rate": "7.1300"}, headers=SUPERVISOR)
        await client.put("/risk/fx-rates/USD/2026-03-10", json={"rate": "7.13"}, headers=SUPERVISOR)
        changes = (await client.get("/risk/fx-rates/changes?currency=USD", headers=RISK)).json()["items"]
        assert [(c["old_rate"], c["new_rate"], c["changed_by"], c["source"]) for c in changes[:2]] == [
            ("7.1234", "7.13", "sup-wang", "api"),
            (None, "7.3", "risk-chen", "api"),
        ]
        assert changes[0]["changed_at"] == "2026-03-15T09:00:00Z"
        events = await outbox_events(app, "risk.fx_rate_set")
        assert [(e["data"]["currency"], e["data"]["rate"], e["data"]["valid_on"]) for e in events] == [
            ("USD", "7.10", "2026-03-01"),
            ("USD", "7.1234", "2026-03-10"),
            ("USD", "7.30", "2026-03-20"),
            ("USD", "7.1300", "2026-03-10"),
        ]
        assert {e["source"] for e in events} == {"risk"} and {e["account_id"] for e in events} == {None}


async def test_only_supervisors_risk_officers_and_admins_keep_rates_and_bad_input_is_a_422(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        body = {"rate": "7.1"}
        for roles, user, status in (
            (("account_manager",), "am-li", 403),
            (("viewer",), "viewer-zhao", 403),
            (("service",), "erp", 403),
            (("admin",), "u-admin", 200),
        ):
            response = await client.put("/risk/fx-rates/USD/2026-03-01", json=body, headers=auth(*roles, user_id=user))
            assert response.status_code == status, (roles, response.text)
        for code in ("XYZ", "元", "usd"):
            refused = await client.put(f"/risk/fx-rates/{code}/2026-03-01", json=body, headers=RISK)
            assert refused.status_code == 422, code
            assert refused.json()["errors"][0]["field"] == "currency"
        base = await client.put("/risk/fx-rates/CNY/2026-03-01", json=body, headers=RISK)
        assert base.status_code == 422 and base.json()["errors"][0]["field"] == "currency"
        for rate in ("1e999999", "0", "-1", "NaN", "0.0000000000001"):
            refused = await client.put("/risk/fx-rates/USD/2026-03-01", json={"rate": rate}, headers=RISK)
            assert refused.status_code == 422, rate
            assert refused.json()["errors"][0]["field"] == "rate"
        extra = await client.put("/risk/fx-rates/USD/2026-03-01", json={**body, "version": 9}, headers=RISK)
        assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "version"


async def test_a_json_batch_of_rates_is_all_or_nothing_and_names_the_bad_row(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        good = [
            {"currency": "USD", "valid_on": "2026-03-01", "rate": "7.1"},
            {"currency": "JPY", "valid_on": "2026-03-01", "rate": "0.048"},
        ]
        for bad_row, field in (
            ({"currency": "CNY", "valid_on": "2026-03-01", "rate": "1"}, "rates.2.currency"),
            ({"currency": "USD", "valid_on": "2026-03-01", "rate": "7.2"}, "rates.2"),  # repeats rates.0
            (
                {"currency": "EUR", "valid_on": "2026-03-01", "rate": "7.8", "base_currency": "USD"},
                "rates.2.base_currency",
            ),
            ({"currency": "XYZ", "valid_on": "2026-03-01", "rate": "1"}, "rates.2.currency"),
            ({"currency": "EUR", "valid_on": "2026-03-01", "rate": "1e999999"}, "rates.2.rate"),
        ):
            refused = await client.post("/risk/fx-rates/import", json={"rates": [*good, bad_row]}, headers=RISK)
            assert refused.status_code == 422, bad_row
            assert refused.json()["errors"][0]["field"] == field
        assert (await client.get("/risk/fx-rates", headers=RISK)).json()["total"] == 0
        imported = await client.post("/risk/fx-rates/import", json={"rates": good}, headers=RISK)
        assert (imported.status_code, imported.json()) == (201, {"set": 2, "unchanged": 0})
        again = await client.post("/risk/fx-rates/import", json={"rates": good}, headers=RISK)
        assert again.json() == {"set": 0, "unchanged": 2}
        assert len(await outbox_events(app, "risk.fx_rate_set")) == 2
        assert {c["source"] for c in (await client.get("/risk/fx-rates/changes", headers=RISK)).json()["items"]} == {
            "import"
        }


async def test_a_csv_upload_reports_every_bad_line_and_keeps_nothing_until_the_file_is_clean(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        bad = "currency,valid_on,rate\nUSD,2026-03-01,7.1\nJPY,2026-13-01,0.048\neur,2026-03-01,7.8\n"
        refused = await client.post(
            "/risk/fx-rates/import/csv", files={"file": ("rates.csv", bad.encode(), "text/csv")}, headers=RISK
        )
        assert refused.status_code == 422, refused.text
        errors = refused.json()["errors"]
        assert [e["field"] for e in errors] == ["rates.1.valid_on", "rates.2.currency"]
        assert errors[0]["message"].startswith("line 3:") and errors[1]["message"].startswith("line 4:")
        no_header = await client.post(
            "/risk/fx-rates/import/csv", files={"file": ("r.csv", b"USD,2026-03-01,7.1\n", "text/csv")}, headers=RISK
        )
        assert no_header.status_code == 422 and no_header.json()["errors"][0]["field"] == "file"
        assert (await client.get("/risk/fx-rates", headers=RISK)).json()["total"] == 0

        good = "\ufeffcurrency,valid_on,rate\nUSD,2026-03-01,7.1\nJPY,2026-03-01,0.048\n"  # with a BOM, as Excel writes
        imported = await client.post(
            "/risk/fx-rates/import/csv", files={"file": ("rates.csv", good.encode(), "text/csv")}, headers=RISK
        )
        assert (imported.status_code, imported.json()) == (201, {"set": 2, "unchanged": 0})
        denied = await client.post(
            "/risk/fx-rates/import/csv",
            files={"file": ("rates.csv", good.encode(), "text/csv")},
            headers=auth("account_manager", user_id="am-li"),
        )
        assert denied.status_code == 403


# ---------------------------------------------------------------- exposure, utilisation and the credit check


async def _limit(client, account_id: str, amount: str, currency: str = "CNY", **extra) -> None:
    body = {"requested_limit": amount, "currency": currency, "reason": "fx test", **extra}
    request = await client.post(f"/risk/accounts/{account_id}/limit-requests", json=body, headers=RISK)
    assert request.status_code == 201, request.text
    approved = await client.post(f"/risk/limit-requests/{request.json()['id']}/approve", headers=CHECKER)
    assert approved.status_code == 200, approved.text


async def _invoice(client, account_id: str, number: str, amount: str, currency: str, paid: str = "0"):
    response = await client.post(
        f"/risk/accounts/{account_id}/invoices",
        json={
            "number": number,
            "amount": amount,
            "paid_amount": paid,
            "currency": currency,
            "issued_on": "2026-03-01",
            "due_on": "2026-04-30",
        },
        headers=RISK,
    )
    assert response.status_code == 201, response.text
    return response


async def _rates(client, *rows: tuple[str, str, str]) -> None:
    rates = [{"currency": c, "valid_on": d, "rate": r} for c, d, r in rows]
    assert (await client.post("/risk/fx-rates/import", json={"rates": rates}, headers=RISK)).status_code == 201


async def test_usd_and_jpy_invoices_on_a_cny_limit_are_converted_with_the_rates_listed(make_database):
    app = make_app(await make_database("risk"))  # business date 2026-03-15
    async with running(app) as client:
        account_id = await add_account(app, "出口客户")
        await _rates(
            client,
            ("USD", "2026-03-10", "7.1234"),
            ("USD", "2026-03-16", "7.5"),  # after today: not used yet
            ("JPY", "2026-03-01", "0.0482"),
        )
        await _limit(client, account_id, "100000")
        await _invoice(client, account_id, "US-1", "1000", "USD")
        await _invoice(client, account_id, "JP-1", "250000", "JPY", paid="50000")
        await _invoice(client, account_id, "CN-1", "500", "CNY")
        exposure = (await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK)).json()
        # By hand: 1000 × 7.1234 + (250000 − 50000) × 0.0482 + 500 = 7123.4 + 9640 + 500.
        assert (exposure["currency"], exposure["as_of"]) == ("CNY", "2026-03-15")
        assert exposure["receivables"] == exposure["exposure"] == "17263.4000"
        assert exposure["aging"]["current"] == "17263.4000"
        assert exposure["utilisation_pct"] == "17.26"
        assert exposure["conversions"] == [
            {
                "figure": "receivables",
                "currency": "USD",
                "amount": "1000.0000",
                "rate": "7.1234",
                "rate_date": "2026-03-10",
                "converted_amount": "7123.4000",
            },
            {
                "figure": "receivables",
                "currency": "JPY",
                "amount": "200000.0000",
                "rate": "0.0482",
                "rate_date": "2026-03-01",
                "converted_amount": "9640.0000",
            },
        ]
        hand = sum(D(c["amount"]) * D(c["rate"]) for c in exposure["conversions"]) + D("500")
        assert D(exposure["exposure"]) == hand
        # The account overview's risk section shows the same figures and the rates they were converted at.
        section = (await client.get(f"/risk/views/accounts/{account_id}", headers=RISK)).json()
        assert section["credit"]["exposure"] == "17263.4000"
        assert section["credit"]["conversions"] == exposure["conversions"]

        # An order in USD is converted the same way and counted against the CNY limit.
        check = (
            await client.post(
                f"/risk/accounts/{account_id}/credit-check",
                json={"amount": "100", "currency": "USD", "record": False},
                headers=RISK,
            )
        ).json()
        assert (check["decision"], check["limit_currency"], check["amount_in_limit_currency"]) == (
            "pass",
            "CNY",
            "712.3400",
        )
        assert check["static_exposure"] == "17263.4000"
        assert check["utilisation_after_pct"] == "17.98"  # (17263.4 + 712.34) / 100000
        assert [(c["figure"], c["currency"], c["rate"]) for c in check["conversions"]] == [
            ("order", "USD", "7.1234"),
            ("receivables", "USD", "7.1234"),
            ("receivables", "JPY", "0.0482"),
        ]

        # A receivable in a currency without a rate is recorded, but nothing is summed raw: 422 naming it.
        await _invoice(client, account_id, "EU-1", "10", "EUR")
        refused = await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK)
        assert refused.status_code == 422
        assert refused.json()["missing_currencies"] == ["EUR"] and "EUR" in refused.json()["detail"]
        assert refused.json()["errors"][0]["field"] == "currency"
        for path in (f"/risk/views/accounts/{account_id}",):
            assert (await client.get(path, headers=RISK)).status_code == 422
        blocked_check = await client.post(
            f"/risk/accounts/{account_id}/credit-check", json={"amount": "1", "record": False}, headers=RISK
        )
        assert blocked_check.status_code == 422 and "EUR" in blocked_check.json()["detail"]
        gbp = await client.post(
            f"/risk/accounts/{account_id}/credit-check",
            json={"amount": "1", "currency": "GBP", "record": False},
            headers=RISK,
        )
        assert gbp.status_code == 422 and gbp.json()["missing_currencies"] == ["EUR", "GBP"]


async def test_a_temporary_limit_in_another_currency_counts_in_the_limits_currency(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "外币临时额度")
        await _rates(client, ("USD", "2026-03-10", "7.1234"))
        await _limit(client, account_id, "100000")
        no_rate = await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={
                "kind": "temporary",
                "requested_limit": "1000",
                "currency": "GBP",
                "expires_on": "2026-03-31",
                "reason": "x",
            },
            headers=RISK,
        )
        assert no_rate.status_code == 422 and no_rate.json()["missing_currencies"] == ["GBP"]
        # A permanent limit stays in the limit's currency.
        other = await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"requested_limit": "1000", "currency": "USD", "reason": "x"},
            headers=RISK,
        )
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "currency"
        await _limit(client, account_id, "20000", "USD", kind="temporary", expires_on="2026-03-31")
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK)).json()
        assert (profile["currency"], profile["temporary_limit"], profile["temporary_limit_currency"]) == (
            "CNY",
            "20000.0000",
            "USD",
        )
        assert profile["effective_limit"] == "142468.0000"  # 20000 × 7.1234
        assert [(c["figure"], c["converted_amount"]) for c in profile["conversions"]] == [
            ("temporary_limit", "142468.0000")
        ]
        exposure = (await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK)).json()
        assert exposure["effective_limit"] == "142468.0000"
        [changed] = [e["data"] for e in await outbox_events(app, "risk.credit_limit_changed")][1:]
        assert (changed["old_limit"], changed["new_limit"], changed["currency"]) == (
            "100000.0000",
            "142468.0000",
            "CNY",
        )


async def test_the_board_never_adds_currencies_each_over_limit_row_is_in_its_own_limits_currency(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        dollars = await add_account(app, "美元额度客户")
        yuan = await add_account(app, "人民币额度客户")
        await _rates(client, ("USD", "2026-03-10", "7.1234"))
        await _limit(client, dollars, "1000", "USD")
        await _limit(client, yuan, "100")
        await _invoice(client, dollars, "D-1", "10000", "CNY")  # 10000 ÷ 7.1234 = 1403.8240 USD
        await _invoice(client, yuan, "Y-1", "200", "CNY")
        board = (await client.get("/risk/views/portfolio", headers=SUPERVISOR)).json()
        rows = {r["account_id"]: r for r in board["over_limit"]}
        assert (rows[dollars]["currency"], rows[dollars]["effective_limit"], rows[dollars]["exposure"]) == (
            "USD",
            "1000.0000",
            "1403.8240",
        )
        assert (rows[yuan]["currency"], rows[yuan]["exposure"]) == ("CNY", "200.0000")
        assert [r["account_id"] for r in board["over_limit"]] == [yuan, dollars]  # 200 % before 140.38 %
        exposure = (await client.get(f"/risk/accounts/{dollars}/exposure", headers=RISK)).json()
        assert (exposure["exposure"], exposure["conversions"][0]["rate"]) == ("1403.8240", "0.140382401662")
        # Without a rate for an amount the account is left off the board rather than summed raw.
        await _invoice(client, yuan, "Y-2", "5", "EUR")
        board = (await client.get("/risk/views/portfolio", headers=SUPERVISOR)).json()
        assert [r["account_id"] for r in board["over_limit"]] == [dollars]


async def test_a_payment_is_in_the_invoices_currency(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "付款客户")
        invoice = (await _invoice(client, account_id, "P-1", "100", "USD")).json()
        wrong = await client.post(
            f"/risk/invoices/{invoice['id']}/payments",
            json={"amount": "10", "currency": "CNY", "paid_on": "2026-03-15"},
            headers=RISK,
        )
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "currency"
        paid = await client.post(
            f"/risk/invoices/{invoice['id']}/payments",
            json={"amount": "10", "currency": "USD", "paid_on": "2026-03-15"},
            headers=RISK,
        )
        assert paid.json()["outstanding"] == "90.0000"
