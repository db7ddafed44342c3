"""The REST API (``/api/v1``): one NinjaAPI with a router per domain."""
