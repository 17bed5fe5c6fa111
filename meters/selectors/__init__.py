"""Every read of meters and readings that is more than ``.get()``, scoped to the requesting user.

One module per concern; every name callers use is exported here."""

from .consumption import (  # noqa: F401
    _EDGES_SQL,
    GROUP_BY,
    KWH_QUANTUM,
    LIVE_EDGE_TOLERANCE,
    PERIODS,
    _as_datetime,
    _as_kwh,
    _bucket_end,
    _bucket_start,
    _day_bucket,
    _Edges,
    _edges,
    _energy,
    consumption_for_period,
    interval_series,
    meter_for_user,
    meters_for_user,
    period_bounds,
    utc_in_meter_zone,
)
from .corrections import (  # noqa: F401 - customer reads and corrections (#19)
    customer_reads_of_meter,
    reading_at,
    reading_corrections,
)
from .live import live_power_w  # noqa: F401
from .readings import (  # noqa: F401
    ANALYTICS_GROUPS,
    ANALYTICS_MAX_DAYS,
    MOVING_AVERAGE_DAYS,
    READING_EXPORT_FIELDS,
    _interval_power,
    _rounded,
    consumption_aggregates,
    energy_summary,
    reading_latest,
    reading_stats,
    readings_for_export,
    readings_raw,
    readings_sampled,
    suppressed_groups,
)
from .status import (  # noqa: F401
    _estimated_readings,
    archive_latest,
    live_meters_quiet,
    meter_first_reading_at,
    meter_local_day,
    meter_local_midnight,
    meter_totals_kwh,
    meters_status,
    reception_history,
    reception_state,
)
from .usage import (  # noqa: F401
    BOUNDARIES,
    BOUNDARY_COLUMNS,
    daily_usage_rows,
    export_reading_intervals,
    meter_boundary_readings,
    meters_by_timezone,
    reading_intervals,
    register_resets,
)
