"""Factories for tariffs and assignments. Bills are made by the services, never by a factory."""

from datetime import date, time
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory
from billing.models import HalfHourRate, Tariff, TariffAssignment, TariffRate, WindowKind
from meters.timeutils import HALF_HOUR, day_bounds


class TariffFactory(factory.django.DjangoModelFactory):
    """A flat tariff: 28p/kWh, 52p/day standing charge, 5% VAT (pass ``rates`` to change)."""

    class Meta:
        model = Tariff
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Tariff {n}")
    code = factory.Sequence(lambda n: f"tariff-{n}")
    standing_charge_per_day = Decimal("0.52")
    valid_from = date(2020, 1, 1)

    @factory.post_generation
    def rates(obj, create, extracted, **kwargs):
        if not create:
            return
        for rate in extracted if extracted is not None else [{"unit_rate": Decimal("0.28")}]:
            TariffRateFactory(tariff=obj, **rate)


class TariffRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TariffRate

    tariff = factory.SubFactory(TariffFactory, rates=[])
    band = "Standard"
    unit_rate = Decimal("0.28")


def economy7_tariff(**fields) -> Tariff:
    """Night 00:30-07:30 local at 9p (cheap), day otherwise at 30p."""
    return TariffFactory(
        rates=[
            {"band": "Day", "unit_rate": Decimal("0.30")},
            {
                "band": "Night",
                "unit_rate": Decimal("0.09"),
                "kind": WindowKind.CHEAP,
                "starts_at": time(0, 30),
                "ends_at": time(7, 30),
            },
        ],
        **fields,
    )


class TariffAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TariffAssignment

    account = factory.SubFactory(CustomerAccountFactory)
    tariff = factory.SubFactory(TariffFactory)
    starts_on = date(2020, 1, 1)


def agile_tariff(**fields) -> Tariff:
    """A dynamic import tariff (half-hourly rates from the feed, none stored yet), 5% VAT, no
    bands."""
    return TariffFactory(import_dynamic=True, rates=[], **fields)


def half_hour_rates_store(
    *, tariff: Tariff, day: date, values: list[Decimal], direction: str = "import"
) -> None:
    """Store ``values`` as the local ``day``'s half-hourly rates, in order (as the feed would)."""
    start, _ = day_bounds(day, timezone.get_default_timezone())
    HalfHourRate.objects.bulk_create(
        HalfHourRate(
            tariff=tariff, direction=direction, valid_from=start + k * HALF_HOUR, value_exc_vat=v
        )
        for k, v in enumerate(values)
    )
