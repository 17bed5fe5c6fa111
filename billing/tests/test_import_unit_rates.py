"""The import_unit_rates command: a CSV of whole local days through the feed's one validator."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.models import HalfHourRate
from billing.tests.factories import TariffFactory, agile_tariff
from billing.tests.test_unit_rates import day_rates

pytestmark = pytest.mark.django_db


def write_csv(path, rows, header="Valid From,Valid To,Value exc VAT,Value inc VAT") -> str:
    lines = [header, *(f"{r['valid_from']},,{r['value_exc_vat']},9.99" for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_it_imports_two_days_and_a_second_import_changes_nothing(tmp_path, capsys):
    tariff = agile_tariff(code="agile")
    rows = day_rates(date(2026, 3, 28)) + day_rates(date(2026, 3, 29))  # 48 + 46
    path = write_csv(tmp_path / "rates.csv", list(reversed(rows)))
    call_command("import_unit_rates", path, tariff="agile")
    assert "2 day(s); created 94, changed 0, unchanged 0" in capsys.readouterr().out
    call_command("import_unit_rates", path, tariff="agile")
    assert "created 0, changed 0, unchanged 94" in capsys.readouterr().out
    assert HalfHourRate.objects.filter(tariff=tariff).count() == 94


def test_it_imports_export_rates_of_a_dynamic_export_tariff(tmp_path):
    tariff = TariffFactory(code="outgoing", export_dynamic=True)
    path = write_csv(tmp_path / "export.csv", day_rates(date(2026, 6, 1), ["0.15"] * 48))
    call_command("import_unit_rates", path, tariff="outgoing", direction="export")
    assert set(
        HalfHourRate.objects.filter(tariff=tariff, direction="export").values_list(
            "value_exc_vat", flat=True
        )
    ) == {Decimal("0.15")}


def test_it_refuses_a_file_with_one_bad_row_naming_its_line_and_imports_nothing(tmp_path):
    agile_tariff(code="agile")
    rows = day_rates(date(2026, 1, 15)) + day_rates(date(2026, 1, 16))
    rows[50]["value_exc_vat"] = "-3"  # line 52: the 51st data row
    path = write_csv(tmp_path / "rates.csv", rows)
    with pytest.raises(CommandError) as refused:
        call_command("import_unit_rates", path, tariff="agile")
    assert "2026-01-16: line 52: value_exc_vat: -3.00000 per kWh is outside" in str(refused.value)
    assert HalfHourRate.objects.count() == 0


def test_it_refuses_an_incomplete_day_and_an_unreadable_time(tmp_path):
    agile_tariff(code="agile")
    rows = day_rates(date(2026, 1, 15))[:40]
    path = write_csv(tmp_path / "short.csv", rows)
    with pytest.raises(CommandError, match=r"has 48 half-hours \(local time\); got 40"):
        call_command("import_unit_rates", path, tariff="agile")
    rows = day_rates(date(2026, 1, 15))
    rows[0]["valid_from"] = "soon"
    with pytest.raises(CommandError, match="line 2: valid_from: Not an ISO 8601 datetime"):
        call_command("import_unit_rates", write_csv(tmp_path / "bad.csv", rows), tariff="agile")


def test_it_refuses_an_unknown_tariff_a_bad_header_and_a_binary_file(tmp_path):
    agile_tariff(code="agile")
    with pytest.raises(CommandError, match="--tariff: no tariff"):
        call_command("import_unit_rates", str(tmp_path / "x.csv"), tariff="nope")
    path = write_csv(tmp_path / "h.csv", [], header="start,price")
    with pytest.raises(CommandError, match="needs the columns valid_from, value_exc_vat"):
        call_command("import_unit_rates", path, tariff="agile")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError, match="not a UTF-8 CSV"):
        call_command("import_unit_rates", str(binary), tariff="agile")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_unit_rates", str(tmp_path / "missing.csv"), tariff="agile")
