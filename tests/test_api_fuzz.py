"""Property-based API testing: schemathesis against a real daphne on the test database.

Every operation of the published OpenAPI schema is called with generated data, as staff and as a
customer (real tokens), in schemathesis' positive mode (data the schema allows) and negative mode
(data it forbids). Each answer must not be a 5xx and must conform to the schema: a documented
status code, content type, headers and body. The budget is fixed (``CASES_PER_RUN`` spread over
the operations, derandomised, no shrinking), so the run is the same every time and fits CI; the
cases and seconds of each run are printed (figures in bench/README.md, "API fuzzing").

No schemathesis check is disabled. Two things are kept out of the generated data, each for a
reason given where it is done: form-encoded bodies (``JSON`` below) and, in negative mode, the
operations that take no input at all (nothing can be made invalid).

Seeded records (two customers' accounts and meters with readings, bills, a battery with
telemetry, rules, a charger with tags and a session, tariffs, an archive, spare tokens) give the
fuzzer real ids to reach: each path parameter is either generated or one of these.

The run must keep its own credentials; three operations could take them away and are handled:

- ``DELETE /tokens/{id}`` would revoke the run's own token: its cases never name that token
  (the seeded spare token stands in for a real one);
- ``PATCH /users/{id}`` (staff) could deactivate either run user, change its role or password:
  its cases never name a run user;
- ``PATCH /accounts/{id}`` with ``users`` could unlink the customer from its own account (not a
  lockout, but the customer would reach nothing afterwards): its cases never do that;
- ``PUT /system/reception`` would pause reception, after which every write answers 503: it is
  fuzzed, and reception is reopened after each of its cases.

DELETE operations run last, so deleting the seeded battery or charger does not hide them from
the other operations.
"""

import math
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import checks as schemathesis_checks
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks

from accounts import services as account_services
from accounts.tests.factories import CustomerAccountFactory, StaffFactory, UserFactory
from batteries import services as battery_services
from batteries.tests.factories import BatteryFactory, InstructionRuleFactory
from batteries.tests.factories import reading as battery_reading
from billing import services as billing_services
from billing.tests.factories import TariffAssignmentFactory, economy7_tariff
from charging import services as charging_services
from charging.tests.factories import ChargerFactory, IdTagFactory
from meters import archives
from meters import services as meter_services
from meters.services import ReadingIn
from meters.tests.factories import MeterFactory
from meters.timeutils import local_midnight

pytestmark = pytest.mark.django_db(transaction=True)

# Request bodies are JSON. The form media types DRF also parses are documented, but daphne's HTTP
# layer (Twisted) parses a multipart body itself and answers one it cannot parse (an empty form,
# "--boundary--") with a bare 400 before the application runs: fuzzing them would test Twisted.
JSON = "application/json"

# Cases of each (role, mode) run, spread evenly over the operations: 4 runs of ~300 make the
# issue's "at least 1,000 in all". Negative mode has fewer (operations without input have none).
CASES_PER_RUN = 300
MIN_CASES_PER_RUN = 250
CHECKS = [
    schemathesis_checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _last_month() -> date:
    return (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)


def _seed() -> dict:
    """Records for the fuzzer to reach: the run's users and tokens, and real path values."""
    customer = UserFactory()
    account = CustomerAccountFactory(users=[customer])
    staff = StaffFactory()
    users = {"staff": staff, "customer": customer}
    tokens = {
        role: account_services.token_create(user=user, name="fuzz run")
        for role, user in users.items()
    }
    spare = {
        role: account_services.token_create(user=user, name="spare").token.pk
        for role, user in users.items()
    }
    TariffAssignmentFactory(account=account, tariff=economy7_tariff())
    meter = MeterFactory(account=account)
    month = _last_month()
    start = local_midnight(month + timedelta(days=2), meter.tz)
    meter_services.reading_ingest_bulk(
        items=[
            ReadingIn(
                meter_id=meter.meter_id,
                at=start + timedelta(minutes=30 * i),
                import_kwh=Decimal(100) + Decimal("0.5") * i,
            )
            for i in range(3 * 48 + 1)
        ],
        source="api",
    )
    neighbour_meter = MeterFactory(account=CustomerAccountFactory(users=[UserFactory()]))
    meter_services.reading_ingest_bulk(
        items=[
            ReadingIn(
                meter_id=neighbour_meter.meter_id,
                at=start + timedelta(minutes=30 * i),
                import_kwh=Decimal(50) + Decimal("0.25") * i,
            )
            for i in range(48 + 1)
        ],
        source="api",
    )
    meter_key = meter_services.meter_key_create(meter=meter, name="reader").meter_key
    bill, _ = billing_services.bill_generate_for_month(account=account, month=month, issue=True)
    if bill.state == "draft":
        bill = billing_services.bill_issue(bill=bill)
    billing_services.bill_correct(bill=bill)
    archive = archives.archive_write(kind="daily", period_start=month + timedelta(days=2))
    battery = BatteryFactory(account=account)
    values = battery_services.reading_values_parse(battery_reading(temperature_c=70))
    battery_services.readings_ingest(readings=[(battery, values)], source="api")
    battery_services.monitoring_run(battery_ids=[battery.pk])
    alert = battery.alerts.first()
    rule = InstructionRuleFactory(battery=battery)
    InstructionRuleFactory(account=account)
    InstructionRuleFactory(identifier_prefix="FZ")
    charger = ChargerFactory(account=account)
    tag = IdTagFactory(account=account)
    IdTagFactory()
    started = charging_services.transaction_start(
        charger=charger,
        connector_id=1,
        id_tag=tag.id_tag,
        meter_start=1000,
        timestamp=(start + timedelta(hours=1)).isoformat(),
    )
    command = charging_services.command_create(
        charger=charger, operation="TriggerMessage", payload={"requestedMessage": "Heartbeat"}
    )
    ids = {
        "account_number": account.account_number,
        "meter_id": meter.meter_id,
        "key_id": meter_key.pk,
        "number": bill.number,
        "key": battery.identifier,
        "alert_id": alert.pk if alert else 1,
        "rule_id": rule.pk,
    }
    by_prefix = {
        "/api/v1/accounts/{id}": account.pk,
        "/api/v1/chargers/{id}": charger.pk,
        "/api/v1/charging/commands/{id}": command.pk,
        "/api/v1/charging/tags/{id}": tag.pk,
        "/api/v1/charging/transactions/{id}": started.transaction.pk,
        "/api/v1/tariffs/{id}": account.tariff_assignments.first().tariff_id,
        "/api/v1/users/{id}": UserFactory().pk,
    }
    del archive
    return {
        "users": users,
        "tokens": tokens,
        "spare_tokens": spare,
        "account": account,
        "ids": ids,
        "ids_by_prefix": by_prefix,
    }


def _known_path_values(path: str, seed: dict, role: str) -> dict:
    values = {name: value for name, value in seed["ids"].items() if "{" + name + "}" in path}
    if "{id}" in path:
        if path.startswith("/api/v1/tokens/"):
            values["id"] = seed["spare_tokens"][role]
        for prefix, value in seed["ids_by_prefix"].items():
            if path.startswith(prefix):
                values["id"] = value
    return values


def _as_int(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _keeps_credentials(seed: dict, role: str) -> Callable:
    """A filter: False for a case that would take away a run's own credentials (see above)."""
    own_token = seed["tokens"][role].token.pk
    run_users = {user.pk for user in seed["users"].values()}
    customer_account = seed["account"].pk

    def keeps(case) -> bool:
        if case.media_type not in (None, JSON):
            return False  # negative mode can still pick a form media type (see JSON)
        path, method = case.operation.path, case.method.upper()
        target = _as_int((case.path_parameters or {}).get("id"))
        if path == "/api/v1/tokens/{id}" and method == "DELETE":
            return target != own_token
        if path == "/api/v1/users/{id}" and method == "PATCH":
            return target not in run_users
        if path == "/api/v1/accounts/{id}" and method == "PATCH":
            return not (target == customer_account and isinstance(case.body, dict))
        return True

    return keeps


def _reopen_reception(seed: dict) -> None:
    meter_services.reception_set(
        user=seed["users"]["staff"], paused=False, maintenance=False, reason="fuzz run"
    )


def _operations(schema) -> list:
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda operation: operation.method.upper() == "DELETE")


def _fuzz_operation(operation, strategy, call: Callable, examples: int) -> int:
    """Run ``call`` on the operation's generated cases within the fixed budget; the case count."""
    cases = 0

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        nonlocal cases
        cases += 1
        call(case)

    try:
        run()
    except Unsatisfiable:
        # Negative mode on an operation that takes no input: there is nothing to make invalid.
        assert cases == 0, operation.label
    return cases


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", ["staff", "customer"])
def test_it_answers_every_generated_request_by_its_schema(daphne_server, role, mode):
    seed = _seed()
    schema = schemathesis.openapi.from_url(f"{daphne_server.url}/api/schema/?format=json")
    session = requests.Session()
    session.headers["Authorization"] = f"Token {seed['tokens'][role].key}"
    keeps = _keeps_credentials(seed, role)
    failures: dict[str, str] = {}
    cases = 0
    began = time.monotonic()
    operations = _operations(schema)
    examples = math.ceil(CASES_PER_RUN / len(operations))

    for operation in operations:
        known = _known_path_values(operation.path, seed, role)
        options = {"generation_mode": mode}
        if operation.get_body_for_media_type(JSON) is not None:
            options["media_type"] = JSON
        strategy = operation.as_strategy(**options)
        if known:
            strategy = st.one_of(strategy, operation.as_strategy(**options, path_parameters=known))

        def call(case, operation=operation):
            try:
                case.call_and_validate(
                    base_url=daphne_server.url, session=session, checks=CHECKS, timeout=30
                )
            except (Exception, BaseExceptionGroup) as exc:  # collected, then reported
                failures.setdefault(f"{operation.label} [{role}, {mode.value}]", str(exc))
            finally:
                if operation.path == "/api/v1/system/reception":
                    _reopen_reception(seed)

        cases += _fuzz_operation(operation, strategy.filter(keeps), call, examples)

    seconds = time.monotonic() - began
    print(f"schemathesis {role} {mode.value}: {cases} cases in {seconds:.1f} s")
    assert session.get(f"{daphne_server.url}/api/v1/me").status_code == 200  # still logged in
    assert cases >= MIN_CASES_PER_RUN
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())
