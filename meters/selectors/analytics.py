"""Analysts' reads: consumption by region, area or dwelling type, never naming a household
(statistical disclosure control in ``suppressed_groups``)."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    F,
    Sum,
)
from django.db.models.functions import TruncMonth

from config.exceptions import ApplicationError
from meters.models import DailyUsage

ANALYTICS_GROUPS = ("region", "area", "dwelling_type")
# An analyst report covers at most three years of daily roll-ups.
ANALYTICS_MAX_DAYS = 3 * 366


def consumption_aggregates(
    *, start: date, end: date, group_by: str = "region", resolution: str = "month"
) -> list[dict]:
    """Total and per-meter average consumption by region, area or dwelling type per day or month
    over local days [start, end), from the roll-ups. No meter ids, accounts or addresses.

    Every analyst report, API answer and CSV export comes from here, and the suppression holds
    for the report as a whole (see ``suppressed_groups``): a group is shown only if none of its
    days in the window is suppressed, so a period's total is always the sum of shown days and
    no subtraction of rows, periods or windows singles out a household."""
    if group_by not in ANALYTICS_GROUPS:
        raise ApplicationError(
            f"group_by: must be one of {', '.join(ANALYTICS_GROUPS)}.", field="group_by"
        )
    if resolution not in ("day", "month"):
        raise ApplicationError('resolution: must be "day" or "month".', field="resolution")
    if end <= start:
        raise ApplicationError("end: must be after start.", field="end")
    if (end - start).days > ANALYTICS_MAX_DAYS:
        raise ApplicationError("end: a report covers at most three years.", field="end")
    hidden = suppressed_groups(start=start, end=end, group_by=group_by)
    period = TruncMonth("day") if resolution == "month" else F("day")
    rows = (
        DailyUsage.objects.filter(day__gte=start, day__lt=end)
        .exclude(**{f"meter__{group_by}__in": hidden})
        .annotate(group=F(f"meter__{group_by}"), period=period)
        .values("group", "period")
        .annotate(total=Sum("import_kwh"), meters=Count("meter", distinct=True))
        .order_by("period", "group")
    )
    return [
        {
            "group": row["group"],
            "period": row["period"],
            "meters": row["meters"],
            "total_kwh": row["total"],
            "average_kwh_per_meter": (row["total"] / row["meters"]).quantize(Decimal("0.0001")),
        }
        for row in rows
    ]


def suppressed_groups(*, start: date, end: date, group_by: str) -> set[str]:
    """The groups an analyst report over local days [start, end) must leave out.

    Statistical disclosure control with the threshold rule and complementary suppression, both
    per cell (group, local day), the finest cell any report is made of:

    - primary: a cell of 1 to ANALYTICS_MIN_GROUP_SIZE - 1 meters is unsafe (an empty cell
      discloses nothing);
    - complementary: on a day whose unsafe cells hold fewer than the minimum meters in all, the
      smallest safe cells of that day are suppressed too until they hold at least the minimum,
      so "every meter minus the shown groups" (a total read off another grouping) is never
      fewer households than the minimum;
    - a group with a suppressed cell on any day of the window is left out of the whole report,
      so no period total contains a hidden day to recover by subtraction.

    A day's suppressed cells depend on that day's roll-ups only, never on the window, so two
    reports over different windows cannot be subtracted to recover a hidden cell either."""
    minimum = settings.ANALYTICS_MIN_GROUP_SIZE
    cells: dict[date, list[tuple[int, str]]] = {}
    for group, day, meters in (
        DailyUsage.objects.filter(day__gte=start, day__lt=end)
        .values_list(f"meter__{group_by}", "day")
        .annotate(meters=Count("meter"))
        .values_list(f"meter__{group_by}", "day", "meters")
    ):
        cells.setdefault(day, []).append((meters, group))
    hidden: set[str] = set()
    for day_cells in cells.values():
        unsafe = [(meters, group) for meters, group in day_cells if meters < minimum]
        if not unsafe:
            continue
        held = sum(meters for meters, _ in unsafe)
        hidden.update(group for _, group in unsafe)
        for meters, group in sorted(cell for cell in day_cells if cell[0] >= minimum):
            if held >= minimum:
                break
            hidden.add(group)
            held += meters
    return hidden


def meter_totals_kwh(*, start: date, end: date) -> list[float]:
    """Each meter's total import over local days [start, end) from the daily roll-ups, smallest
    first, with no meter named: the analysts' distribution chart bins these."""
    return sorted(
        float(total)
        for total in DailyUsage.objects.filter(day__gte=start, day__lt=end)
        .values("meter")
        .annotate(total=Sum("import_kwh"))
        .values_list("total", flat=True)
    )
