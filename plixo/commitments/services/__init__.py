"""Every write of promises and payment plans, re-exported: the records themselves and what
payments do to them (`records`), what staff do with promises (`promises`) and with plans
(`plans`). Keyword-only, one transaction each, the invoice timeline event in that same
transaction."""

from plixo.commitments.services.plans import (
    plan_accept,
    plan_cancel,
    plan_complete,
    plan_counter,
    plan_coverage_warning,
    plan_create,
    plan_decline,
    plan_installment_pay,
    plan_resend,
    plans_check,
)
from plixo.commitments.services.promises import (
    promise_mark_kept,
    promise_mark_missed,
    promise_remind,
    promises_check,
)
from plixo.commitments.services.records import (
    NOTE_MAX_LENGTH,
    PLAN_MAX_INSTALLMENTS,
    PLAN_MIN_INSTALLMENTS,
    PROMISE_HORIZON_DAYS,
    commitments_payment_applied,
    commitments_payment_reversed,
    commitments_reversal_refused,
    plan_installments_even,
    plan_propose,
    promise_close,
    promise_create,
)

__all__ = [
    "NOTE_MAX_LENGTH",
    "PLAN_MAX_INSTALLMENTS",
    "PLAN_MIN_INSTALLMENTS",
    "PROMISE_HORIZON_DAYS",
    "commitments_payment_applied",
    "commitments_payment_reversed",
    "commitments_reversal_refused",
    "plan_accept",
    "plan_cancel",
    "plan_complete",
    "plan_counter",
    "plan_coverage_warning",
    "plan_create",
    "plan_decline",
    "plan_installment_pay",
    "plan_installments_even",
    "plan_resend",
    "plans_check",
    "plan_propose",
    "promise_close",
    "promise_create",
    "promise_mark_kept",
    "promise_mark_missed",
    "promise_remind",
    "promises_check",
]
