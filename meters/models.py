"""Meters, their register readings, the daily roll-ups made from them, reception and archives.

A reading is a register value at an instant: ``import_kwh`` is the meter's cumulative import
register, so the energy used in an interval is the difference between two readings. The energy
between a reading and the one before it belongs to the interval that ends at the later reading;
a day's roll-up therefore holds the intervals that end after its local midnight and no later than
the next one.
"""

import zoneinfo
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import ApiToken, CustomerAccount, DwellingType, Region


def validate_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{name!r} is not an IANA time zone name.") from exc


def default_timezone() -> str:
    return settings.TIME_ZONE


class MeterKind(models.TextChoices):
    INTERVAL = "interval", "Half-hourly interval meter"
    LIVE = "live", "Live telemetry device"


class MeterStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    REMOVED = "removed", "Removed"


class Meter(models.Model):
    meter_id = models.CharField(
        max_length=64, unique=True, help_text="Public meter id, e.g. 531-123-456 or a serial."
    )
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="meters")
    address = models.TextField(help_text="Premises address.")
    postcode = models.CharField(max_length=8)
    area = models.CharField(max_length=4, db_index=True, help_text="Postcode outward code.")
    region = models.CharField(max_length=20, choices=Region.choices, db_index=True)
    dwelling_type = models.CharField(max_length=16, choices=DwellingType.choices)
    kind = models.CharField(max_length=8, choices=MeterKind.choices, default=MeterKind.INTERVAL)
    timezone = models.CharField(
        max_length=64, default=default_timezone, validators=[validate_timezone]
    )
    status = models.CharField(max_length=8, choices=MeterStatus.choices, default=MeterStatus.ACTIVE)
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["meter_id"]

    def __str__(self) -> str:
        return self.meter_id

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class ReadingSource(models.TextChoices):
    API = "api", "API"
    MQTT = "mqtt", "MQTT"
    IMPORT = "import", "Import or restore"
    ESTIMATE = "estimate", "Estimate"
    CUSTOMER = "customer", "Customer"


class ReadingQuality(models.TextChoices):
    ACTUAL = "actual", "Actual"
    ESTIMATED = "estimated", "Estimated"
    CUSTOMER = "customer", "Customer (C)"


KWH_DIGITS = 14
KWH_PLACES = 4


class Reading(models.Model):
    """One register read.

    Resets are per register: ``register_reset`` marks a reset of the import register (the name
    the API has always had, kept so existing clients keep working) and ``export_register_reset``
    one of the export register. A flagged register may start lower than the reading before, and
    that register counts no energy for the interval that ends here; the other register's energy
    of the same interval counts as usual. A meter exchange resets both. An export reset is only
    stored on a reading that has an export register. (Before migration 0005 one flag stood for
    the whole reading; the migration set both flags on every reading it had flagged, so stored
    energy did not change.)

    Storage (issue #16): the primary key is (meter, at), the one index every read uses; there
    is no surrogate id and no index on the meter alone (the key's leading column serves it).
    What a source sent beyond these columns is a ``ReadingDiagnostic``, kept for a short time,
    not a column of every reading. On PostgreSQL the columns are laid out meter, at, registers,
    powers, then the narrow ones (migration 0006), which leaves no alignment padding."""

    pk = models.CompositePrimaryKey("meter", "at")
    meter = models.ForeignKey(
        Meter, on_delete=models.CASCADE, related_name="readings", db_index=False
    )
    at = models.DateTimeField(help_text="UTC.")
    import_kwh = models.DecimalField(max_digits=KWH_DIGITS, decimal_places=KWH_PLACES)
    export_kwh = models.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, null=True, blank=True
    )
    power_w = models.FloatField(null=True, blank=True)
    power_l1_w = models.FloatField(null=True, blank=True)
    power_l2_w = models.FloatField(null=True, blank=True)
    power_l3_w = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=ReadingSource.choices)
    quality = models.CharField(
        max_length=9, choices=ReadingQuality.choices, default=ReadingQuality.ACTUAL
    )
    register_reset = models.BooleanField(
        default=False, help_text="The import register was reset (or the meter exchanged)."
    )
    export_register_reset = models.BooleanField(
        default=False,
        db_default=False,  # rows inserted by SQL (bulk loads, benchmarks) need no value
        help_text="The export register was reset (or the meter exchanged).",
    )

    class Meta:
        ordering = ["meter", "at"]
        # The (meter, at) primary key's b-tree answers "first/last reading in a range" and "readings
        # after t" for one meter as an index range scan at any table size; no other index is
        # needed on the ingest path.
        # Meter exchanges are rare: a partial index finds them in a range without reading it
        # (a query for import resets alone is answered from it too: its condition implies this).
        indexes = [
            models.Index(
                fields=["meter", "at"],
                condition=models.Q(register_reset=True) | models.Q(export_register_reset=True),
                name="reading_register_resets",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(import_kwh__gte=0), name="reading_import_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(export_kwh__isnull=True) | models.Q(export_kwh__gte=0),
                name="reading_export_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.at.isoformat()} {self.import_kwh} kWh"


class ReadingDiagnostic(models.Model):
    """What the source of one reading sent that the reading's columns do not say: a client's
    ``raw`` object (API, bulk, restore) or, for MQTT, the payload of a message stamped with its
    receive time (the device gave no usable time). Kept READING_DIAGNOSTICS_RETENTION_DAYS by
    reading time (``reading_diagnostics_prune``, daily), and written into the archives with
    their reading, so an archive still holds it afterwards."""

    pk = models.CompositePrimaryKey("meter", "at")
    meter = models.ForeignKey(
        Meter, on_delete=models.CASCADE, related_name="diagnostics", db_index=False
    )
    at = models.DateTimeField(help_text="The reading's time (UTC).")
    raw = models.JSONField()

    class Meta:
        ordering = ["meter", "at"]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.at.isoformat()}"


class DailyUsage(models.Model):
    """Energy per meter per local day, kept current by every ingest in the same transaction."""

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="daily_usage")
    day = models.DateField(help_text="Local calendar day in the meter's time zone.")
    import_kwh = models.DecimalField(max_digits=KWH_DIGITS, decimal_places=KWH_PLACES)
    export_kwh = models.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, null=True, blank=True
    )
    readings = models.PositiveIntegerField(help_text="Readings whose interval ends in the day.")
    intervals_expected = models.PositiveSmallIntegerField(help_text="46, 48 or 50 half-hours.")
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    covered_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Start of the day's first interval (the reading before first_at); empty on "
        "rows written before it was kept, which the next ingest recomputes.",
    )
    has_gap = models.BooleanField(
        default=False,
        db_default=False,  # rows inserted by SQL (bulk loads, benchmarks) need no value
        help_text="An interval longer than half an hour or a register reset.",
    )
    is_partial = models.BooleanField(
        help_text="Not the whole day: a gap, or readings that do not reach both midnights."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["meter", "day"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "day"], name="daily_usage_unique_meter_day")
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.day} {self.import_kwh} kWh"


class Reception(models.Model):
    """The one switch every write door reads (a single row, pk=1), so every process on every
    machine sees a pause as soon as it is committed."""

    SINGLETON_PK = 1

    paused = models.BooleanField(default=False)
    maintenance = models.BooleanField(default=False)
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        if self.maintenance:
            return "maintenance"
        return "paused" if self.paused else "open"

    @property
    def is_open(self) -> bool:
        return not (self.paused or self.maintenance)


class ReceptionChange(models.Model):
    """Who changed reception, when, and to what."""

    paused = models.BooleanField()
    maintenance = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d %H:%M} paused={self.paused} maint={self.maintenance}"


class ArchiveKind(models.TextChoices):
    DAILY = "daily", "Daily"
    MONTHLY = "monthly", "Monthly"


class Archive(models.Model):
    """An archive file written under ARCHIVE_DIR, with its SHA-256 (also in the manifest)."""

    kind = models.CharField(max_length=7, choices=ArchiveKind.choices)
    period_start = models.DateField(help_text="The day, or the first day of the month.")
    path = models.CharField(max_length=300, help_text="Relative to ARCHIVE_DIR.")
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "period_start"], name="archive_unique_period")
        ]

    def __str__(self) -> str:
        return self.path


class MeterKey(models.Model):
    """An API key of one meter (the device that reads it): it may submit and read that meter's
    readings and nothing else. Only the SHA-256 of the key is stored; the key is shown once."""

    KEY_PREFIX = "mk_"

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=11)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.name} ({self.prefix}…)"

    digest_of = staticmethod(ApiToken.digest_of)  # one way of hashing keys, for users and meters


from .models_corrections import *  # noqa: E402, F403 - customer reads and corrections (#19)
