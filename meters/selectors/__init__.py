"""Every read of meters and readings that is more than ``.get()``, scoped to the requesting user.

One module per concern: ``meters`` (which meters a user may see), ``consumption`` (energy over a
period or per interval), ``readings`` (stored readings and their statistics), ``analytics``
(analysts' aggregates), ``status`` (reception and the fleet),
``usage`` (set-based reads of many meters over a period, for billing). Callers import from here:
``from meters.selectors import ...``.
"""

from .analytics import (
    ANALYTICS_GROUPS,
    ANALYTICS_MAX_DAYS,
    consumption_aggregates,
    meter_totals_kwh,
    suppressed_groups,
)
from .consumption import (
    GROUP_BY,
    KWH_QUANTUM,
    LIVE_EDGE_TOLERANCE,
    PERIODS,
    consumption_for_period,
    interval_series,
    period_bounds,
    utc_in_meter_zone,
)
from .meters import (
    meter_first_reading_at,
    meter_for_user,
    meter_local_day,
    meter_local_midnight,
    meters_for_user,
)
from .readings import (
    MOVING_AVERAGE_DAYS,
    READING_EXPORT_FIELDS,
    energy_summary,
    reading_latest,
    reading_stats,
    readings_for_export,
    readings_raw,
    readings_sampled,
)
from .status import (
    archive_latest,
    live_meters_quiet,
    meters_status,
    reception_history,
    reception_state,
)
from .usage import (
    BOUNDARIES,
    BOUNDARY_COLUMNS,
    daily_usage_rows,
    meter_boundary_readings,
    meters_by_timezone,
    reading_intervals,
    register_resets,
)

__all__ = [
    "ANALYTICS_GROUPS",
    "ANALYTICS_MAX_DAYS",
    "BOUNDARIES",
    "BOUNDARY_COLUMNS",
    "GROUP_BY",
    "KWH_QUANTUM",
    "LIVE_EDGE_TOLERANCE",
    "MOVING_AVERAGE_DAYS",
    "PERIODS",
    "READING_EXPORT_FIELDS",
    "archive_latest",
    "consumption_aggregates",
    "consumption_for_period",
    "daily_usage_rows",
    "energy_summary",
    "interval_series",
    "live_meters_quiet",
    "meter_boundary_readings",
    "meter_first_reading_at",
    "meter_for_user",
    "meter_local_day",
    "meter_local_midnight",
    "meter_totals_kwh",
    "meters_by_timezone",
    "meters_for_user",
    "meters_status",
    "period_bounds",
    "reading_intervals",
    "reading_latest",
    "reading_stats",
    "readings_for_export",
    "readings_raw",
    "readings_sampled",
    "reception_history",
    "reception_state",
    "register_resets",
    "suppressed_groups",
    "utc_in_meter_zone",
]
