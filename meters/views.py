"""Portal pages: "My meters" and a meter's page with its consumption periods, where a
customer submits a read of an interval meter."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.utils import timezone

from config.exceptions import ApplicationError, NotFound

from . import selectors, services
from .models import KWH_DIGITS, KWH_PLACES, MeterKind, ReadChannel
from .services.customer_reads import kwh_text

LIVE_TRAILING = timedelta(minutes=30)

PERIOD_LABELS = {
    "last_30min": "Last half-hour",
    "today": "Today",
    "this_week": "This week",
    "this_month": "This month",
    "last_month": "Last month",
}


@login_required
def meter_list(request: HttpRequest):
    meters = selectors.meters_for_user(user=request.user)
    page = Paginator(meters, 50).get_page(request.GET.get("page"))
    return render(request, "meters/meter_list.html", {"page": page})


def _consumption(meter, period: str) -> dict | None:
    """A period's consumption, None with fewer than two readings in it. For a live meter "Last
    half-hour" is the trailing 30 minutes, so a display that started reporting six minutes ago
    already shows what it used (the last whole half-hour slot may hold none of its readings)."""
    now = timezone.now()
    try:
        if period == "last_30min" and meter.kind == MeterKind.LIVE:
            return selectors.consumption_for_period(
                meter=meter, start=now - LIVE_TRAILING, end=now, now=now
            )
        return selectors.consumption_for_period(meter=meter, period=period, now=now)
    except NotFound:
        return None


_HALF_HOURS = [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in (0, 30)]
# The form's fields by the service's (its refusals name the reading's fields).
_FORM_FIELD = {"at": "read_time", "import_kwh": "import_kwh", "export_kwh": "export_kwh"}


class MeterReadForm(forms.Form):
    """Parses the read form; the rules are the service's (customer_read_submit)."""

    read_on = forms.DateField(
        label="Date read", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    read_time = forms.ChoiceField(
        label="Time read",
        choices=[(value, value) for value in _HALF_HOURS],
        help_text="The half-hour at or just before you read the meter (your meter's local time).",
    )
    import_kwh = forms.DecimalField(
        label="Meter reading (kWh)",
        max_digits=KWH_DIGITS,
        decimal_places=KWH_PLACES,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def __init__(self, *args, with_export: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_export:
            self.fields["export_kwh"] = forms.DecimalField(
                label="Export reading (kWh)",
                max_digits=KWH_DIGITS,
                decimal_places=KWH_PLACES,
                required=False,
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            )

    def local_time(self) -> datetime:
        """Naive wall-clock time of the read, in the meter's zone (the service localises it)."""
        hour, minute = (int(part) for part in self.cleaned_data["read_time"].split(":"))
        return datetime.combine(self.cleaned_data["read_on"], time(hour, minute))


def _read_form_initial(meter) -> dict:
    now = timezone.now().astimezone(meter.tz)
    return {
        "read_on": now.date(),
        "read_time": f"{now.hour:02d}:{30 if now.minute >= 30 else 0:02d}",
    }


def _submit_read(request: HttpRequest, meter, form: MeterReadForm):
    """Store the form's read; None when refused (the form then carries the reason)."""
    try:
        submitted = services.customer_read_submit(
            user=request.user,
            meter=meter,
            at=form.local_time(),
            import_kwh=form.cleaned_data["import_kwh"],
            export_kwh=form.cleaned_data.get("export_kwh"),
            channel=ReadChannel.PORTAL,
        )
    except ApplicationError as exc:
        field = _FORM_FIELD.get(exc.field or "")
        form.add_error(
            field if field in form.fields else None, exc.message.partition(": ")[2] or exc.message
        )
        return None
    local = submitted.reading.at.astimezone(meter.tz)
    text = (
        f"Thank you: your reading of {kwh_text(submitted.reading.import_kwh)} kWh at "
        f"{local:%H:%M} on {local.day} {local:%b %Y} is stored."
    )
    if not submitted.created:
        text = f"That reading was already stored ({kwh_text(submitted.reading.import_kwh)} kWh)."
    elif submitted.customer_read.implausible:
        text += " It is much higher than your usual use, so our team will check it."
    messages.success(request, text)
    return submitted


@login_required
def meter_detail(request: HttpRequest, meter_id: str):
    try:
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    latest = meter.readings.order_by("-at").first()
    takes_reads = request.user.is_customer and meter.kind == MeterKind.INTERVAL
    form = None
    if takes_reads:
        with_export = latest is not None and latest.export_kwh is not None
        if request.method == "POST":
            form = MeterReadForm(request.POST, with_export=with_export)
            if form.is_valid() and _submit_read(request, meter, form):
                return redirect("meters:detail", meter_id=meter.meter_id)
        else:
            form = MeterReadForm(initial=_read_form_initial(meter), with_export=with_export)
    elif request.method == "POST":
        raise PermissionDenied("Only a customer submits reads, of an interval meter.")
    periods = [
        {"label": label, "result": _consumption(meter, period)}
        for period, label in PERIOD_LABELS.items()
    ]
    context = {
        "meter": meter,
        "periods": periods,
        "latest": latest,
        "read_form": form,
        "customer_reads": [
            (read, kwh_text(read.import_kwh))
            for read in (selectors.customer_reads_of_meter(meter=meter) if takes_reads else [])
        ],
    }
    status = 400 if form is not None and form.is_bound else 200
    return render(request, "meters/meter_detail.html", context, status=status)


def home_panel(request: HttpRequest) -> dict | None:
    """The customer's meters on the portal home page (None: no panel for others or no meters)."""
    if not request.user.is_authenticated or not request.user.is_customer:
        return None
    meters = list(selectors.meters_for_user(user=request.user)[:20])
    return {"meters": meters} if meters else None
