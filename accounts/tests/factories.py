import factory

from accounts import services
from accounts.models import CustomerAccount, DwellingType, Region, Role, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name", locale="en_GB")
    role = Role.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    role = Role.STAFF


class AnalystFactory(UserFactory):
    role = Role.ANALYST


class CustomerAccountFactory(factory.django.DjangoModelFactory):
    """An account; pass ``users=[...]`` to link logins (a new customer login by default)."""

    class Meta:
        model = CustomerAccount
        skip_postgeneration_save = True

    account_number = factory.Sequence(lambda n: f"HG{n:08d}")
    owner_name = factory.Faker("name", locale="en_GB")
    address = factory.Faker("street_address", locale="en_GB")
    postcode = "N1 9GU"
    area = factory.LazyAttribute(lambda account: account.postcode.split(" ")[0])
    region = Region.LONDON
    dwelling_type = DwellingType.TERRACED

    @factory.post_generation
    def users(obj, create, extracted, **kwargs):
        if create:
            obj.users.set(extracted if extracted is not None else [UserFactory()])


def api_key_for(user: User, name: str = "test client") -> str:
    return services.token_create(user=user, name=name).key
