"""Background work of the comms app; the periodic jobs are registered in `plixo.ops.jobs`."""

from django_tasks import task

from plixo.comms import services


@task()
def cadence_tick() -> str:
    """Enrol new invoices and draft (or queue) every cadence step that fell due."""
    return str(services.cadence_tick())


@task()
def outbox_send() -> str:
    """Send what the outbox holds and is due; recover claims of workers that died."""
    counts = services.outbox_send()
    parts = [
        f"{counts[k]} {k}"
        for k in ("sent", "held", "cancelled", "retry", "failed")
        if counts.get(k)
    ]
    for key in ("requeued", "unknown"):
        if counts.get(key):
            parts.append(f"{counts[key]} {key}")
    if counts.get("maintenance"):
        parts.append("maintenance on: nothing sent")
    return ", ".join(parts) or "nothing due"


@task()
def message_send(message_id: int) -> str:
    """Deliver one message now (queued when an operator approves or sends it)."""
    return services.message_deliver(message_id=message_id)


@task()
def suppressions_reactivate() -> int:
    return services.suppressions_reactivate()
