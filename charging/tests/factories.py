import factory

from charging.models import Charger, IdTag, Registration

CHARGER_PASSWORD = "charger-secret-1"


class ChargerFactory(factory.django.DjangoModelFactory):
    """An accepted charger with HTTP Basic password ``CHARGER_PASSWORD``."""

    class Meta:
        model = Charger
        skip_postgeneration_save = True

    charge_point_id = factory.Sequence(lambda n: f"CP{n:05d}")
    registration = Registration.ACCEPTED
    password = factory.PostGenerationMethodCall("set_password", CHARGER_PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class IdTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdTag

    id_tag = factory.Sequence(lambda n: f"TAG{n:05d}")
