import pytest
from django.core.exceptions import ValidationError

from accounts.postcodes import normalise_postcode, outward_code


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        ("  n1   9gu ", "N1 9GU"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_it_normalises_valid_postcodes(raw, normalised):
    assert normalise_postcode(raw) == normalised


@pytest.mark.parametrize(
    "raw", ["", "N1", "12345", "SW1A 1A", "QQ1 1AA", "N1 9GUU", "GIR 1AA", "N1-9GU"]
)
def test_it_refuses_malformed_postcodes(raw):
    with pytest.raises(ValidationError, match="valid UK postcode"):
        normalise_postcode(raw)


def test_it_takes_the_outward_code_as_area():
    assert outward_code("sw1a 1aa") == "SW1A"
