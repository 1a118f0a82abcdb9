"""Central's public REST API (``/v1/...``): routers, auth dependencies, error shape."""
