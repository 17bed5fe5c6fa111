import hashlib
import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    """The one mechanism for who may do what. Staff implies the Django admin."""

    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"
    ANALYST = "analyst", "Analyst"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("role", Role.CUSTOMER)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields |= {"role": Role.STAFF, "is_superuser": True}
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff(self) -> bool:
        """Django admin access follows the role, so there is one switch, not two."""
        return self.role == Role.STAFF

    def has_perm(self, perm: str, obj=None) -> bool:
        """Staff manage every record; finer admin permissions would be a second mechanism."""
        return self.is_active and (self.is_staff or super().has_perm(perm, obj))

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and (self.is_staff or super().has_module_perms(app_label))

    @property
    def is_analyst(self) -> bool:
        return self.role == Role.ANALYST

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ", 1)[0] if self.full_name else self.email


class DwellingType(models.TextChoices):
    DETACHED = "detached", "Detached house"
    SEMI_DETACHED = "semi_detached", "Semi-detached house"
    TERRACED = "terraced", "Terraced house"
    FLAT = "flat", "Flat or maisonette"
    BUNGALOW = "bungalow", "Bungalow"
    OTHER = "other", "Other"


class Region(models.TextChoices):
    """The UK's ITL1 regions: the coarse geography analysts aggregate by."""

    NORTH_EAST = "north_east", "North East"
    NORTH_WEST = "north_west", "North West"
    YORKSHIRE = "yorkshire", "Yorkshire and the Humber"
    EAST_MIDLANDS = "east_midlands", "East Midlands"
    WEST_MIDLANDS = "west_midlands", "West Midlands"
    EAST = "east", "East of England"
    LONDON = "london", "London"
    SOUTH_EAST = "south_east", "South East"
    SOUTH_WEST = "south_west", "South West"
    WALES = "wales", "Wales"
    SCOTLAND = "scotland", "Scotland"
    NORTHERN_IRELAND = "northern_ireland", "Northern Ireland"


class CustomerAccount(models.Model):
    """A supply account: one premises, one or more people who may log in to it."""

    account_number = models.CharField(max_length=12, unique=True, editable=False)
    owner_name = models.CharField(max_length=150)
    address = models.TextField()
    postcode = models.CharField(max_length=8, help_text="Normalised: upper-case, one space.")
    area = models.CharField(
        max_length=4, db_index=True, help_text="Postcode district (outward code), e.g. N1."
    )
    region = models.CharField(max_length=20, choices=Region.choices, db_index=True)
    dwelling_type = models.CharField(max_length=16, choices=DwellingType.choices)
    users = models.ManyToManyField(User, related_name="customer_accounts", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account_number"]

    def __str__(self) -> str:
        return f"{self.account_number} {self.owner_name}"


class ApiToken(models.Model):
    """A named API key. Only its SHA-256 digest is stored: the key is shown once, at creation."""

    PREFIX_LENGTH = 8

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(30)

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
