"""The demo supplier `make run` starts with: households with a year of history, tariffs, bills,
a battery and a charger for the demo customer (``seed``), and the devices that keep it alive —
live meters and batteries over MQTT, a charger over OCPP (``devices``, ``charger``).

It lives in the portal app because it is the one app above all the others (the layers in
pyproject.toml): the demo is made only through their public services, as an operator would."""
