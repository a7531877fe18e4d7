"""The project's URLs plus the two baselines of the HTTP API benchmark (bench/api.py).

- `bench/plain/`: a plain Django function view answering a tiny JSON body: the floor of one request
  through uvicorn, Django's handler and the project's middleware.
- `bench/drf-floor/`: the least a DRF endpoint with token authentication does (the token looked up in
  the database, the permission checked, a JSON response rendered), writing nothing: the floor of the
  score endpoint, which does all of that too.
"""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


@csrf_exempt
@require_POST
def plain(request):
    return HttpResponse(b'{"ok":true}', content_type="application/json")


class DrfFloor(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request):
        return Response({"ok": True}, status=202)


urlpatterns = [
    path("bench/plain/", plain, name="bench-plain"),
    path("bench/drf-floor/", DrfFloor.as_view(), name="bench-drf-floor"),
    path("", include("project.urls")),
]
