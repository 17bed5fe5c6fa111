"""The price feed in the admin: the stored half-hourly rates, listed with filters (read-only:
a day is changed whole), and a "set a day's rates" form that goes through the feed's one
validator and store (services.unit_rates_set_day), as the API and the import command do."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone

from config.exceptions import ApplicationError, InvalidInput
from meters.timeutils import HALF_HOUR, day_bounds

from . import services
from .models import HalfHourRate, RateDirection, Tariff


def rates_from_text(text: str, day) -> list[dict]:
    """The form's lines as the validator's rows: ``valid_from,value`` (any order), or a bare
    value, which is the next half-hour from local midnight in the order given."""
    start, _ = day_bounds(day, timezone.get_default_timezone())
    rows = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        if "," in line:
            valid_from, _, value = (part.strip() for part in line.partition(","))
            rows.append({"valid_from": valid_from, "value_exc_vat": value})
        else:
            rows.append({"valid_from": start + len(rows) * HALF_HOUR, "value_exc_vat": line})
    return rows


class UnitRatesDayForm(forms.Form):
    tariff = forms.ModelChoiceField(
        queryset=Tariff.objects.filter(Q(import_dynamic=True) | Q(export_dynamic=True))
    )
    direction = forms.ChoiceField(choices=RateDirection.choices, initial=RateDirection.IMPORT)
    day = forms.DateField(help_text="The local day (YYYY-MM-DD): 46, 48 or 50 half-hours.")
    rates = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "cols": 50}),
        help_text="One half-hour a line: its value per kWh before VAT (0.2415 is 24.15p; "
        "negative prices are fine) in time order from local midnight, or "
        "'valid_from,value' lines in any order. The day's rates are replaced by these.",
    )

    def save(self) -> services.DayResult | None:
        """Through the feed's service; its refusals land on the form's fields."""
        data = self.cleaned_data
        try:
            return services.unit_rates_set_day(
                tariff=data["tariff"],
                day=data["day"],
                direction=data["direction"],
                rates=rates_from_text(data["rates"], data["day"]),
            )
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                target = field if field in self.fields else "rates"
                for message in messages:
                    self.add_error(target, message if target == field else f"{field}: {message}")
        except ApplicationError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return None


@admin.register(HalfHourRate)
class HalfHourRateAdmin(admin.ModelAdmin):
    list_display = ["tariff", "direction", "valid_from", "local_start", "value_exc_vat"]
    list_filter = ["tariff", "direction"]
    date_hierarchy = "valid_from"
    list_select_related = ["tariff"]
    change_list_template = "billing/admin_unit_rates_changelist.html"

    @admin.display(description="Local start")
    def local_start(self, rate: HalfHourRate) -> str:
        return f"{timezone.localtime(rate.valid_from):%a %d %b %Y %H:%M %Z}"

    def has_add_permission(self, request) -> bool:
        return False  # a day is set whole, through "Set a day's rates"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting one half-hour would leave a gap in a day

    def get_urls(self):
        set_day = path(
            "set-day/",
            self.admin_site.admin_view(self.set_day),
            name="billing_halfhourrate_set_day",
        )
        return [set_day, *super().get_urls()]

    def set_day(self, request):
        form = UnitRatesDayForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            result = form.save()
            if result is not None:
                self.message_user(
                    request,
                    f"{result.day.tariff} {result.day.direction} {result.day.day}: "
                    f"{len(result.day.values)} half-hours; created {result.created}, changed "
                    f"{result.changed}, unchanged {result.unchanged}.",
                )
                return redirect(reverse("admin:billing_halfhourrate_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Set a day's half-hourly rates",
        }
        return render(request, "billing/admin_unit_rates_day.html", context)
