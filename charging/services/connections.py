"""A charger's socket: who may open it, which daphne node owns it, and when it counts as
offline (a silent charger, or a node that died with its sockets open)."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import live

from .. import keys
from ..models import (
    Charger,
    ChargingNode,
    OcppVersion,
    Registration,
)
from .announcements import chargers_offline_announce
from .common import _commit_without_waiting_for_disk

log = logging.getLogger(__name__)


def charger_authenticate(*, charge_point_id: str, password: bytes | str | None) -> Charger | None:
    """The charger that may open a socket as ``charge_point_id``, or None to refuse it.

    Unknown charge points are refused under the "known" policy and stored as Pending under the
    "pending" policy (without a password: staff set one when they accept it). A charger without
    a password may connect only while Pending, where it can do nothing but boot; every other
    charger must give its HTTP Basic password (security profile 1), checked against its keyed
    digest in microseconds (``charging.keys``). A legacy PBKDF2 hash that matches is rewritten
    to the keyed digest, so it is paid once."""
    charger = Charger.objects.filter(charge_point_id=charge_point_id).first()
    if charger is None:
        if settings.CHARGING_REGISTRATION_POLICY != "pending":
            return None
        charger, _ = Charger.objects.get_or_create(
            charge_point_id=charge_point_id,
            defaults={"registration": Registration.PENDING},
        )
    if charger.registration == Registration.PENDING and not charger.password_hash:
        return charger
    matches, needs_rehash = keys.key_matches(password, charger.password_hash)
    if not matches:
        return None
    if needs_rehash:
        digest = keys.key_digest(keys.key_canonical(password))
        # Only if nobody set a new key meanwhile.
        Charger.objects.filter(pk=charger.pk, password_hash=charger.password_hash).update(
            password_hash=digest
        )
        charger.password_hash = digest
    return charger


@transaction.atomic
def charger_connection_open(
    *,
    charger: Charger,
    channel_name: str,
    remote_address: str,
    ocpp_version: str = OcppVersion.V16,
) -> str:
    """Make ``channel_name`` the one owner of the charger's socket, speaking ``ocpp_version``;
    returns the previous owner's channel (to be told to close) or ""."""
    _commit_without_waiting_for_disk()
    locked = Charger.objects.select_for_update().get(pk=charger.pk)
    previous = locked.channel_name if locked.channel_name != channel_name else ""
    now = timezone.now()
    Charger.objects.filter(pk=charger.pk).update(
        connected=True,
        channel_name=channel_name,
        remote_address=remote_address[:100],
        connected_at=now,
        last_message_at=now,
        ocpp_version=ocpp_version,
    )
    charger.ocpp_version = ocpp_version
    _push_connections([(locked.charge_point_id, locked.account_id)], connected=True)
    return previous


def _push_connections(chargers: list[tuple[str, int | None]], *, connected: bool) -> None:
    """``charging.connection`` to each (charge point id, owner account): open pages show the
    charger online or offline without waiting for its next status."""
    if chargers:
        transaction.on_commit(
            lambda: live.push_many(
                (account_id, "charging.connection", {"charger": cp_id, "connected": connected})
                for cp_id, account_id in chargers
            )
        )


@transaction.atomic
def charger_connection_close(*, charger_id: int, channel_name: str) -> None:
    """A socket closed. Only its owner may mark the charger disconnected: a stale socket closing
    after a reconnect must not take the new connection's state with it."""
    _commit_without_waiting_for_disk()
    owned = Charger.objects.filter(pk=charger_id, channel_name=channel_name)
    closing = list(owned.values_list("charge_point_id", "account_id"))
    owned.update(connected=False, channel_name="", disconnected_at=timezone.now())
    _push_connections(closing, connected=False)


def chargers_mark_offline(*, now: datetime | None = None) -> int:
    """Chargers whose last message is older than 2 x heartbeat interval + grace are offline,
    whatever their socket state says (a power cut leaves no close frame)."""
    now = now or timezone.now()
    grace = settings.CHARGING_OFFLINE_GRACE
    connected = Charger.objects.filter(connected=True)
    # Interval arithmetic on a column is not portable (SQLite refuses ``F(...) * timedelta``), but a
    # fleet has only a few distinct heartbeat intervals: one cut-off each, OR-ed in one query.
    intervals = connected.order_by().values_list("heartbeat_interval", flat=True).distinct()
    overdue = Q(last_message_at__isnull=True)
    for interval in intervals:
        cutoff = now - timedelta(seconds=grace + 2 * interval)
        overdue |= Q(heartbeat_interval=interval, last_message_at__lt=cutoff)
    stale = connected.filter(overdue)
    with transaction.atomic():
        going = list(stale.select_for_update().values_list("charge_point_id", "account_id"))
        marked = stale.update(connected=False, channel_name="", disconnected_at=now)
        _push_connections(going, connected=False)
        chargers_offline_announce(chargers=going)
    return marked + chargers_release_dead_nodes(now=now)  # and those of a killed node


def node_of(channel_name: str) -> str:
    """The node (process) part of a consumer's channel name: channel layers name a process's
    channels ``<prefix>!<unique>``."""
    return channel_name.rpartition("!")[0] or channel_name


@transaction.atomic
def charging_node_heartbeat(*, name: str, now: datetime | None = None) -> int:
    """Node ``name`` is alive; and chargers owned by nodes silent for CHARGING_NODE_TTL are
    released, so every live node detects a killed one. Returns how many were released."""
    now = now or timezone.now()
    ChargingNode.objects.update_or_create(name=name, defaults={"seen_at": now})
    return chargers_release_dead_nodes(now=now)


def charging_node_gone(*, name: str) -> None:
    """A node shutting down (its sockets were closed and released one by one)."""
    ChargingNode.objects.filter(name=name).delete()


@transaction.atomic
def charging_node_release(*, name: str) -> int:
    """A node shutting down with its sockets closed: every charger it still owns is marked
    disconnected in one statement (a fleet of 2,000 sockets released one by one kept the old
    node's shutdown, and so the fleet's return, waiting for 2,000 round trips). A charger that
    already reconnected elsewhere has another owner and is not touched."""
    _commit_without_waiting_for_disk()
    owned = Charger.objects.filter(channel_name__startswith=f"{name}!", connected=True)
    going = list(owned.select_for_update().values_list("charge_point_id", "account_id"))
    released = owned.update(connected=False, channel_name="", disconnected_at=timezone.now())
    ChargingNode.objects.filter(name=name).delete()
    _push_connections(going, connected=False)
    return released


def _dead_nodes(now: datetime):
    return ChargingNode.objects.filter(
        seen_at__lt=now - timedelta(seconds=settings.CHARGING_NODE_TTL)
    )


@transaction.atomic
def chargers_release_dead_nodes(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    dead = list(_dead_nodes(now).select_for_update(skip_locked=True).values_list("name", flat=True))
    if not dead:
        return 0
    owned = Q()
    for name in dead:
        owned |= Q(channel_name__startswith=f"{name}!")
    stale = Charger.objects.filter(owned, connected=True)
    going = list(stale.select_for_update().values_list("charge_point_id", "account_id"))
    released = stale.update(connected=False, channel_name="", disconnected_at=now)
    ChargingNode.objects.filter(name__in=dead).delete()
    if released:
        log.warning("released %s chargers of dead nodes %s", released, dead)
    _push_connections(going, connected=False)
    return released


def _owner_is_dead(channel_name: str) -> bool:
    return _dead_nodes(timezone.now()).filter(name=node_of(channel_name)).exists()
