"""The product's URLs plus the load benchmark's two baselines (bench/bench_load.py).

- `bench/write-one/`: the least a request that stores something can do through the same
  middleware stack: read the body, insert one row with raw SQL into the benchmark's own table,
  answer a small JSON document. The framework's own ceiling; the target refers to it.
- `bench/write-one-drf/`: the same through Django REST framework (an APIView without
  authentication, AllowAny, the JSON parser, a DRF Response) and the ORM: what a plain DRF
  endpoint costs on top, for context.

Served only by gunicorn started with DJANGO_SETTINGS_MODULE=bench.load_settings.
"""

from __future__ import annotations

from django.db import connection, models
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as product_urlpatterns

BENCH_TABLE = "bench_write_one"  # created by bench/bench_load.py


class BenchRow(models.Model):
    """A row of the benchmark's own table; not part of the product (no app, no migration)."""

    created_at = models.DateTimeField(default=timezone.now)
    size = models.IntegerField()

    class Meta:
        app_label = "bench"
        db_table = BENCH_TABLE
        managed = False

    def __str__(self) -> str:
        return f"bench row {self.pk}"


@csrf_exempt
@require_POST
def write_one(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BENCH_TABLE} (size) VALUES (%s) RETURNING id",
            [len(request.body)],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


class WriteOneDRF(APIView):
    """A plain DRF endpoint that stores one row: no authentication, AllowAny, JSON."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        row = BenchRow.objects.create(size=len(request.data))
        return Response({"id": row.pk}, status=201)


urlpatterns = [
    *product_urlpatterns,
    path("bench/write-one/", write_one),
    path("bench/write-one-drf/", WriteOneDRF.as_view()),
]
