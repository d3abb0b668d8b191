from plixo.ops.models import MaintenanceState


def maintenance_state() -> MaintenanceState:
    return MaintenanceState.objects.filter(pk=1).first() or MaintenanceState(pk=1)


def maintenance_active() -> bool:
    """True while maintenance mode is on: the portal is closed and senders must not send."""
    return MaintenanceState.objects.filter(pk=1, enabled=True).exists()
