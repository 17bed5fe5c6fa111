import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert "/api/v1/me" in target.read_text()


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_are_served_without_a_cdn(client, path):
    page = client.get(path).content.decode()

    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn." not in page and "unpkg" not in page
