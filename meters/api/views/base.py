"""What every meter door shares: a meter's own key is accepted beside the users' logins."""

from rest_framework.permissions import IsAuthenticated
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from meters.authentication import MeterKeyAuthentication


class MeterApi(APIView):
    """Meter doors also accept a meter's own key (``Token mk_…``), scoped to that meter."""

    authentication_classes = [MeterKeyAuthentication, *api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    permission_classes = [IsAuthenticated]
