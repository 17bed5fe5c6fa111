"""UK postcodes: validation, normalisation, and the outward code used as an analyst's area."""

import re

from django.core.exceptions import ValidationError

# Outward code (area letters, district) and inward code (sector digit, unit letters), per the
# Royal Mail format: A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA, plus GIR 0AA.
_POSTCODE = re.compile(
    r"^(?P<outward>GIR|[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRVWXY]?))"
    r"(?P<inward>[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(value: str) -> str:
    """Upper-case, single space before the inward code; ValidationError naming the rule."""
    compact = re.sub(r"\s+", "", value or "").upper()
    match = _POSTCODE.match(compact)
    if not match or (match["outward"] == "GIR" and match["inward"] != "0AA"):
        raise ValidationError(
            "Enter a valid UK postcode, such as SW1A 1AA or N1 9GU.", code="invalid_postcode"
        )
    return f"{match['outward']} {match['inward']}"


def outward_code(postcode: str) -> str:
    """``N1 9GU`` -> ``N1``: the postcode district, coarse enough to carry no personal data."""
    return normalise_postcode(postcode).split(" ", 1)[0]
