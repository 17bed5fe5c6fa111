"""Portal pages: a customer's chargers, and starting / stopping a session on one of them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.exceptions import ApplicationError, NotFound

from . import selectors, services
from .models import CommandStatus, IdTag

PORTAL_WAIT_SECONDS = 10


def _owned(request, pk: int):
    try:
        return selectors.charger_for_user(user=request.user, charger_id=pk)
    except NotFound as error:
        raise Http404(error.message) from error


@login_required
def charger_list(request):
    chargers = selectors.chargers_for_user(user=request.user)
    return render(request, "charging/charger_list.html", {"chargers": chargers})


@login_required
def charger_detail(request, pk: int):
    charger = _owned(request, pk)
    context = {
        "charger": charger,
        "connectors": charger.connectors.exclude(connector_id=0),
        "active": selectors.transactions_for_user(user=request.user)
        .filter(charger=charger, stopped_at__isnull=True)
        .order_by("connector_id"),
        "recent": selectors.transactions_for_user(user=request.user).filter(charger=charger)[:10],
        "tags": IdTag.objects.filter(account__users=request.user, blocked=False),
        "socket": "/ws/live/" if isinstance(request, ASGIRequest) else None,
    }
    return render(request, "charging/charger_detail.html", context)


def _run(request, charger, operation: str, payload: dict, done: str) -> None:
    try:
        command = services.command_create(
            charger=charger, operation=operation, payload=payload, requested_by=request.user
        )
    except (ApplicationError, PermissionDenied) as error:
        messages.error(request, getattr(error, "message", None) or str(error))
        return
    command = services.command_await(command=command, timeout=PORTAL_WAIT_SECONDS)
    if command.status == CommandStatus.ACCEPTED:
        messages.success(request, done)
    elif command.status == CommandStatus.OFFLINE:
        messages.error(request, "The charger is offline; try again when it is connected.")
    elif command.status == CommandStatus.PENDING:
        messages.warning(request, "The charger has not answered yet; this page will update.")
    else:
        messages.error(request, f"The charger refused ({command.status}).")


@login_required
@require_POST
def charging_start(request, pk: int):
    charger = _owned(request, pk)
    try:
        connector_id = int(request.POST.get("connector_id") or 1)
    except ValueError:
        connector_id = 1
    payload = {"connectorId": connector_id, "idTag": request.POST.get("id_tag", "")[:20]}
    _run(request, charger, "RemoteStartTransaction", payload, "Charging requested.")
    return redirect("charging:charger-detail", pk=pk)


@login_required
@require_POST
def charging_stop(request, pk: int):
    charger = _owned(request, pk)
    try:
        transaction_id = int(request.POST.get("transaction_id", ""))
    except ValueError:
        messages.error(request, "Choose a session to stop.")
        return redirect("charging:charger-detail", pk=pk)
    payload = {"transactionId": transaction_id}
    _run(request, charger, "RemoteStopTransaction", payload, "Stop requested.")
    return redirect("charging:charger-detail", pk=pk)


def home_panel(request) -> dict | None:
    """The home page's panel: the customer's chargers, if they have any."""
    if not request.user.is_authenticated or not request.user.is_customer:
        return None
    chargers = list(selectors.chargers_for_user(user=request.user))
    if not chargers:
        return None
    active = selectors.transactions_for_user(user=request.user).filter(stopped_at__isnull=True)
    return {"chargers": chargers, "active": list(active)}
