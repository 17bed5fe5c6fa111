"""The dynamic-tariffs migration gives every existing tariff a code from its name."""

import importlib

import pytest
from django.apps import apps

from billing.models import Tariff
from billing.tests.factories import TariffFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("billing.migrations.0003_dynamic_tariffs")


def test_it_backfills_codes_from_names_numbering_names_that_slug_alike():
    first = TariffFactory(name="Agile Octopus", code="old-1")
    second = TariffFactory(name="Agile-Octopus!", code="old-2")
    blank = TariffFactory(name="£££", code="old-3")
    migration.codes_from_names(apps, None)
    codes = dict(Tariff.objects.values_list("pk", "code"))
    assert codes == {first.pk: "agile-octopus", second.pk: "agile-octopus-2", blank.pk: "tariff"}
