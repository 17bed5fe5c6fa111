"""Tariffs, their bands, and which account is on which tariff when."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from accounts.models import CustomerAccount
from config.exceptions import ApplicationError, Conflict

from ..models import Tariff, TariffAssignment, TariffRate


@dataclass(frozen=True)
class RateIn:
    band: str
    unit_rate: Decimal
    kind: str = "standard"
    starts_at: object = None
    ends_at: object = None
    days: str = "1234567"
    priority: int = 0


def tariff_rates_check(rates: list[RateIn], *, import_dynamic: bool = False) -> None:
    """The rules a tariff's bands keep together, whichever door they came in by (API, admin).
    A tariff whose import is dynamic (priced by its half-hourly rates) may have no bands."""
    defaults = [rate for rate in rates if rate.starts_at is None and rate.ends_at is None]
    if import_dynamic and not rates:
        return
    if len(defaults) != 1:
        raise ApplicationError(
            "rates: a tariff needs exactly one default band (no times), which prices every "
            "half-hour outside its windows.",
            field="rates",
        )
    for rate in rates:
        if (rate.starts_at is None) != (rate.ends_at is None):
            raise ApplicationError(
                "rates: a window needs both starts_at and ends_at.", field="rates"
            )
        if rate.starts_at is not None and rate.starts_at == rate.ends_at:
            raise ApplicationError(
                "rates: a window cannot start and end at the same time.", field="rates"
            )


@transaction.atomic
def tariff_create(*, rates: list[RateIn], **fields) -> Tariff:
    """A tariff and its bands. Exactly one band has no times (the default)."""
    tariff_rates_check(rates, import_dynamic=fields.get("import_dynamic", False))
    tariff = Tariff(**fields)
    if not tariff.code:
        tariff.code = tariff_code_from_name(tariff.name)
    tariff.full_clean()
    tariff.save()
    _rates_add(tariff=tariff, rates=rates)
    return tariff


def tariff_code_from_name(name: str) -> str:
    """The name as a URL slug, numbered (``-2``, ``-3``...) past the codes already taken."""
    base = slugify(name)[:40] or "tariff"
    taken = set(Tariff.objects.filter(code__startswith=base).values_list("code", flat=True))
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    return code


def _rates_add(*, tariff: Tariff, rates: list[RateIn]) -> None:
    for rate in rates:
        row = TariffRate(tariff=tariff, **rate.__dict__)
        row.full_clean()
        row.save()


@transaction.atomic
def tariff_update(*, tariff: Tariff, rates: list[RateIn] | None = None, **fields) -> Tariff:
    """Change a tariff. Prices already on issued bills are copied onto their lines, so they do
    not change; drafts pick up the new prices when regenerated."""
    for name, value in fields.items():
        setattr(tariff, name, value)
    if not tariff.code:
        tariff.code = tariff_code_from_name(tariff.name)
    tariff.full_clean()
    tariff.save()
    if rates is not None:
        tariff_rates_check(rates, import_dynamic=tariff.import_dynamic)
        tariff.rates.all().delete()
        _rates_add(tariff=tariff, rates=rates)
    elif not tariff.import_dynamic and not tariff.rates.exists():
        raise ApplicationError(
            "rates: a tariff whose import is not dynamic needs a default band to price it.",
            field="rates",
        )
    return tariff


@transaction.atomic
def tariff_assign(
    *, account: CustomerAccount, tariff: Tariff, starts_on: date, ends_on: date | None = None
) -> TariffAssignment:
    """Put ``account`` on ``tariff`` from ``starts_on`` to ``ends_on`` (inclusive; open-ended
    when None). An open-ended assignment that began earlier is ended the day before, so a
    tariff change is one call; any other overlap is refused (409)."""
    tariff_assignment_dates_check(tariff=tariff, starts_on=starts_on, ends_on=ends_on)
    CustomerAccount.objects.select_for_update().get(pk=account.pk)
    existing = TariffAssignment.objects.filter(account=account)
    open_before = existing.filter(ends_on__isnull=True, starts_on__lt=starts_on).first()
    if open_before is not None:
        open_before.ends_on = starts_on - timedelta(days=1)
        open_before.save(update_fields=["ends_on"])
    tariff_assignment_overlap_check(account=account, starts_on=starts_on, ends_on=ends_on)
    return TariffAssignment.objects.create(
        account=account, tariff=tariff, starts_on=starts_on, ends_on=ends_on
    )


def tariff_assignment_dates_check(*, tariff: Tariff, starts_on: date, ends_on: date | None) -> None:
    """An assignment runs forwards and lies inside its tariff's validity."""
    if ends_on is not None and ends_on < starts_on:
        raise ApplicationError("ends_on: must not be before starts_on.", field="ends_on")
    if starts_on < tariff.valid_from or (
        tariff.valid_to is not None and (ends_on is None or ends_on > tariff.valid_to)
    ):
        raise ApplicationError(
            f"starts_on: {tariff.name} is valid from {tariff.valid_from}"
            + (f" to {tariff.valid_to}" if tariff.valid_to else "")
            + "; the assignment must lie inside that.",
            field="starts_on",
        )


def tariff_assignment_overlap_check(
    *,
    account: CustomerAccount,
    starts_on: date,
    ends_on: date | None,
    excluding: TariffAssignment | None = None,
) -> None:
    """An account is on one tariff a day: refuse (409) an assignment that overlaps another of
    the account's (``excluding`` the one being changed)."""
    existing = TariffAssignment.objects.filter(account=account)
    if excluding is not None and excluding.pk is not None:
        existing = existing.exclude(pk=excluding.pk)
    overlap = existing.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on))
    if ends_on is not None:
        overlap = overlap.filter(starts_on__lte=ends_on)
    clash = overlap.first()
    if clash is not None:
        raise Conflict(
            f"starts_on: the account is already on {clash.tariff.name} from {clash.starts_on}"
            + (f" to {clash.ends_on}" if clash.ends_on else "")
            + ".",
            field="starts_on",
        )
