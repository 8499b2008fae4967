"""Local stand-ins for Zammad and Kimai 2, written once from their published API documentation.

Neither server can run here. They follow docs/refs/zammad-kimai-api.md exactly where
calsync depends on it: paths, auth headers and failure bodies, pagination, date formats,
Kimai's refusal of unknown body fields, its default rounding, exported and locked entries.
Tests import them from here: ``from calsync.testing.timesheets import KimaiStandIn, ZammadStandIn``.
"""

from calsync.testing.timesheets.common import HttpError, Logged, StandIn
from calsync.testing.timesheets.kimai import KimaiStandIn, KimaiState
from calsync.testing.timesheets.zammad import ZammadStandIn, zammad_time

__all__ = ["HttpError", "KimaiStandIn", "KimaiState", "Logged", "StandIn", "ZammadStandIn", "zammad_time"]
