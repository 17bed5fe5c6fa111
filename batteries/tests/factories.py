from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory
from batteries import services
from batteries.models import Battery, InstructionAction, InstructionRule


class BatteryFactory(factory.Factory):
    """A battery registered through the service, so it gets a real identifier."""

    class Meta:
        model = Battery

    account = factory.SubFactory(CustomerAccountFactory)
    location = "Garage"
    postcode = "N1 9GU"
    capacity_kwh = Decimal("10")
    vendor = "Acme"
    model = "PowerBox 10"
    ip_address = "192.0.2.10"
    min_soc_reserve = Decimal("10")
    max_soc_reserve = Decimal("100")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.battery_create(**kwargs)

    @classmethod
    def _build(cls, model_class, **kwargs):
        return services.battery_create(**kwargs)


def reading(**overrides) -> dict:
    """A valid telemetry payload, as a client sends it."""
    return {
        "timestamp": timezone.now().isoformat(),
        "soc_percent": 55,
        "power_kw": -2.5,
        "voltage_v": 51.2,
        "temperature_c": 25,
        "status": "charging",
        "flag": "ok",
    } | overrides


class InstructionRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InstructionRule

    name = factory.Sequence(lambda n: f"rule {n}")
    priority = 0
    action = InstructionAction.HOLD
