from charging.tests.conftest import open_station  # noqa: F401  (a charger over the consumer)
