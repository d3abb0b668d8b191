from django.apps import AppConfig


class CommitmentsConfig(AppConfig):
    name = "plixo.commitments"
    label = "commitments"

    def ready(self):
        # A payment plan above its accepter's approval limit waits for an approver; approving
        # or rejecting it is carried out by the commitments' own services.
        from plixo.approvals.registry import register
        from plixo.commitments.services.plans import plan_on_approved, plan_on_rejected

        register("plan", on_approved=plan_on_approved, on_rejected=plan_on_rejected)
