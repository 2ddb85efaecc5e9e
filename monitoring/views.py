import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from monitoring.health import run_checks

LIVENESS_CHECKS = ["database", "redis"]


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Public: {"status": "ok"} 200, or 503 with "degraded" or "down". No details."""
    report = run_checks(LIVENESS_CHECKS)
    return JsonResponse(
        {"status": report["status"]}, status=200 if report["status"] == "ok" else 503
    )


@never_cache
def health_details(request: HttpRequest) -> JsonResponse:
    """Every check with its timing, for whoever holds HEALTH_API_KEY."""
    key = settings.HEALTH_API_KEY
    given = request.headers.get("X-Health-Key", "")
    if not key or not hmac.compare_digest(given.encode(), key.encode()):
        raise Http404  # closed, and not confirming it exists
    report = run_checks()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
