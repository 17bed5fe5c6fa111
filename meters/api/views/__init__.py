"""The meters API: doors that parse, call a service or selector, and answer.

One module per resource: ``meters`` (meters and keys), ``readings``, ``consumption`` (and the
analysts' aggregates), ``exports`` (CSV, Green Button) and ``system`` (archives, reception).
``meters/api/urls.py`` routes to the names exported here.
"""

from .base import MeterApi
from .consumption import AggregatesApi, ConsumptionApi, EnergySummaryApi, SeriesApi, StatsApi
from .corrections import ReadingCorrectionApi, ReadingEstimatesApi
from .exports import READINGS_CSV_HEADER, ExportCsvApi, GreenButtonApi
from .meters import MeterDetailApi, MeterKeyRevokeApi, MeterKeysApi, MeterListApi
from .readings import BulkReadingsApi, LatestReadingApi, MeterReadingsApi
from .system import ArchiveListApi, ArchiveRestoreApi, ReceptionApi

__all__ = [
    "READINGS_CSV_HEADER",
    "AggregatesApi",
    "ArchiveListApi",
    "ArchiveRestoreApi",
    "BulkReadingsApi",
    "ConsumptionApi",
    "EnergySummaryApi",
    "ExportCsvApi",
    "GreenButtonApi",
    "LatestReadingApi",
    "MeterApi",
    "MeterDetailApi",
    "MeterKeyRevokeApi",
    "MeterKeysApi",
    "MeterListApi",
    "MeterReadingsApi",
    "ReadingCorrectionApi",
    "ReadingEstimatesApi",
    "ReceptionApi",
    "SeriesApi",
    "StatsApi",
]
