"""The account ledger: bills, corrections, voids, payments, refunds and credits, and the
balance as their sum."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billing import selectors, services
from billing.models import Bill, BillState, EntryKind, LedgerEntry
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from billing.tests.test_services import daily_readings
from config.exceptions import Conflict, InvalidInput
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(customer):
    account = customer.customer_accounts.get()
    daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 11, 1), 10)
    return account


@pytest.fixture
def tariff(account):
    tariff = TariffFactory()
    TariffAssignmentFactory(account=account, tariff=tariff)
    return tariff


def pay(account, amount, day=date(2026, 10, 5), **kwargs):
    entry, _ = services.payment_record(
        account=account, amount=amount, paid_on=day, reference="BACS", **kwargs
    )
    return entry


def test_it_puts_an_issued_bill_on_the_ledger_once(account, tariff):
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    services.bills_generate(month="2026-09")  # a second run: the bill is unchanged

    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.reference) == (EntryKind.BILL, bill.total, bill.number)
    assert selectors.account_balance(account=account) == bill.total


def test_it_keeps_a_draft_off_the_ledger_until_it_is_issued(account, tariff):
    draft, _ = services.bill_generate_for_month(account=account, month="2026-09")
    assert not LedgerEntry.objects.exists()
    assert selectors.bill_balance(bill=draft) is None

    services.bill_issue(bill=draft)

    assert selectors.account_balance(account=account) == draft.total


def test_it_balances_bills_corrections_payments_refunds_and_credits(account, tariff, staff):
    today = timezone.localdate()  # bills enter on their issue day: entries follow in order
    september, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    pay(account, "20.00", day=today, by=staff)
    services.tariff_update(tariff=tariff, standing_charge_per_day=Decimal("0.40"))
    correction = services.bill_correct(bill=september)
    assert selectors.account_balance(account=account) == september.total - Decimal("20.00")

    services.bill_issue(bill=correction)
    correction.refresh_from_db()

    entry = LedgerEntry.objects.get(kind=EntryKind.CORRECTION)
    assert entry.amount == correction.total - september.total == Decimal("-3.78")
    assert selectors.account_balance(account=account) == correction.total - Decimal("20.00")

    services.ledger_entry_record(
        account=account,
        entry=services.EntryIn(
            kind=EntryKind.GOODWILL, amount="5", posted_on=today, reference="Sorry"
        ),
        by=staff,
    )
    services.ledger_entry_record(
        account=account,
        entry=services.EntryIn(
            kind=EntryKind.REFUND, amount="1.50", posted_on=today, reference="Ref"
        ),
        by=staff,
    )
    expected = correction.total - Decimal("20.00") - Decimal("5") + Decimal("1.50")
    assert selectors.account_balance(account=account) == expected

    services.bill_void(bill=correction, reason="Meter belongs to the neighbour", by=staff)

    credit = Decimal("-20.00") - Decimal("5") + Decimal("1.50")
    assert selectors.account_balance(account=account) == credit  # a credit carries forward
    statement = selectors.statement(account=account)
    assert [line.entry.kind for line in statement.lines] == [
        EntryKind.BILL,
        EntryKind.PAYMENT,
        EntryKind.CORRECTION,
        EntryKind.GOODWILL,
        EntryKind.REFUND,
        EntryKind.BILL_VOID,
    ]
    assert statement.closing == credit == statement.lines[-1].balance


def test_it_enters_a_month_reissued_after_a_void_at_its_whole_total(account, tariff, staff):
    original, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    services.bill_void(bill=original, reason="Wrong tariff", by=staff)
    assert selectors.account_balance(account=account) == 0

    again, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    again.refresh_from_db()

    assert again.corrects_id == original.pk and again.state == BillState.ISSUED
    assert LedgerEntry.objects.get(bill=again).amount == again.total
    assert selectors.account_balance(account=account) == again.total


def test_it_shows_the_balance_brought_forward_and_after_on_each_bill(account, tariff):
    september, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    overpaid = september.total + Decimal("30.00")
    pay(account, overpaid, day=timezone.localdate())

    october, _ = services.bill_generate_for_month(account=account, month="2026-10", issue=True)

    first = selectors.bill_balance(bill=september)
    assert (first.brought_forward, first.after) == (Decimal("0.00"), september.total)
    second = selectors.bill_balance(bill=october)
    assert second.brought_forward == Decimal("-30.00")  # the overpayment, carried forward
    assert second.after == october.total - Decimal("30.00")


def test_it_refuses_a_payment_that_breaks_a_rule_naming_each_field(account):
    with pytest.raises(InvalidInput) as refused:
        services.payment_record(
            account=account,
            amount="-5",
            paid_on=timezone.localdate() + timedelta(days=3),
            reference=" ",
        )
    assert set(refused.value.errors) == {"amount", "posted_on", "reference"}
    assert not LedgerEntry.objects.exists()


def test_it_records_a_keyed_payment_once_and_refuses_the_key_for_another(account):
    first, created = services.payment_record(
        account=account, amount="12", paid_on=date(2026, 10, 1), reference="x", idempotency_key="k"
    )
    again, created_again = services.payment_record(
        account=account, amount="12", paid_on=date(2026, 10, 1), reference="x", idempotency_key="k"
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    with pytest.raises(Conflict):
        services.payment_record(
            account=account, amount="13", paid_on=date(2026, 10, 1), reference="x",
            idempotency_key="k",
        )  # fmt: skip
    assert selectors.account_balance(account=account) == Decimal("-12.00")


def test_it_mails_the_bill_with_its_pdf_and_a_payment_receipt(
    account, tariff, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    with django_capture_on_commit_callbacks(execute=True):
        pay(account, "10.00")

    bill_mail, receipt = mail.outbox
    assert bill_mail.to == [customer.email] and bill.number in bill_mail.subject
    name, content, mimetype = bill_mail.attachments[0]
    assert (name, mimetype) == (f"bill-{bill.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert receipt.to == [customer.email] and "£10.00" in receipt.body


def test_it_mails_nobody_who_turned_the_kind_off(
    account, tariff, customer, django_capture_on_commit_callbacks
):
    from notifications.services import preferences_set

    preferences_set(user=customer, wanted=["payment_received"])
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    assert mail.outbox == []
    assert Bill.objects.get().state == BillState.ISSUED
