"""Customer meter reads and corrections of stored readings (issue #19).

A reading is identified by its meter and time, ``(meter, at)``, everywhere: in these records,
in URLs and in the admin (the readings table has no surrogate id). These tables are audit
records: a correction never edits or deletes one, and a reading's original values stay here
after it is amended or voided.
"""

from django.conf import settings
from django.db import models

# meters.models imports this module (its last line), so nothing is imported back from it: the
# meter is named by string, and registers have Reading's digits (a test pins them equal).
KWH_DIGITS = 14
KWH_PLACES = 4

__all__ = ["CorrectionAction", "CustomerRead", "ReadChannel", "ReadingCorrection"]


class ReadChannel(models.TextChoices):
    PORTAL = "portal", "Portal"
    API = "api", "API"


class CustomerRead(models.Model):
    """A reading a customer submitted and HomeGrid stored (a refused one is not stored here:
    the customer was told why, and nothing changed). ``implausible`` reads (far above the
    meter's usual use, see ``meters.services.customer_reads``) are stored like the others and
    wait for staff review."""

    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.CASCADE, related_name="customer_reads"
    )
    at = models.DateTimeField(help_text="The reading's time (UTC).")
    import_kwh = models.DecimalField(max_digits=KWH_DIGITS, decimal_places=KWH_PLACES)
    export_kwh = models.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, null=True, blank=True
    )
    channel = models.CharField(max_length=6, choices=ReadChannel.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    submitted_at = models.DateTimeField()
    implausible = models.BooleanField(default=False)
    plausibility_note = models.CharField(
        max_length=300, blank=True, help_text="The usage the read implies and the limit it met."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "at"], name="customer_read_unique_meter_at")
        ]
        indexes = [
            models.Index(
                fields=["submitted_at"],
                condition=models.Q(implausible=True, reviewed_at__isnull=True),
                name="customer_read_to_review",
            )
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.at.isoformat()} {self.import_kwh} kWh"

    @property
    def needs_review(self) -> bool:
        return self.implausible and self.reviewed_at is None


class CorrectionAction(models.TextChoices):
    AMEND = "amend", "Amended"
    VOID = "void", "Voided"
    ESTIMATE = "estimate", "Estimated (gap filled)"
    REPLACE_ESTIMATE = "replace", "Estimate replaced by an actual read"


class ReadingCorrection(models.Model):
    """One change to a stored reading: who, when, why, and its values before and after (after
    is empty for a void; before is empty for a gap filled by an estimate). ``bills`` lists the
    bills the change touched, as billing answered: ``[{"number", "month", "action"}]``."""

    meter = models.ForeignKey("meters.Meter", on_delete=models.PROTECT, related_name="corrections")
    at = models.DateTimeField(help_text="The reading's time (UTC).")
    action = models.CharField(max_length=8, choices=CorrectionAction.choices)
    reason = models.TextField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    made_at = models.DateTimeField()
    old_import_kwh = models.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, null=True, blank=True
    )
    old_export_kwh = models.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, null=True, blank=True
    )
    old_source = models.CharField(max_length=8, blank=True)
    old_quality = models.CharField(max_length=9, blank=True)
    old_register_reset = models.BooleanField(null=True, blank=True)
    old_export_register_reset = models.BooleanField(null=True, blank=True)
    new_import_kwh = models.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, null=True, blank=True
    )
    new_export_kwh = models.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, null=True, blank=True
    )
    new_quality = models.CharField(max_length=9, blank=True)
    new_register_reset = models.BooleanField(null=True, blank=True)
    new_export_register_reset = models.BooleanField(null=True, blank=True)
    days_recomputed = models.JSONField(default=list, blank=True, help_text="Local days (ISO).")
    bills = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-made_at", "-pk"]
        indexes = [models.Index(fields=["meter", "at"], name="reading_correction_meter_at")]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.at.isoformat()} {self.get_action_display()}"
