"""Running units: the executor, one unit's run, leases, serializers and progress events."""
