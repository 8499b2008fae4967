"""One reading of time-zone names for artists and Zammad agents alike."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from calsync.lib.zones import UnknownZone, zone_named
from calsync.validators import validate_time_zone


def test_it_knows_an_iana_zone_by_name():
    assert zone_named("Europe/Berlin").key == "Europe/Berlin"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Europe/"])
def test_it_refuses_what_is_not_a_zone_with_a_message_a_person_can_act_on(name):
    with pytest.raises(UnknownZone, match="is not an IANA time zone such as Europe/Berlin"):
        zone_named(name)
    with pytest.raises(ValidationError):
        validate_time_zone(name)
