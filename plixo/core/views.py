"""Sign-in, the organization switcher, Users & Roles (the team page), invitation links and
the error pages."""

import zoneinfo
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from plixo.core.access import member_required, public, requires
from plixo.core.forms import (
    AccessReasonForm,
    InvitationAcceptForm,
    InviteForm,
    LoginForm,
    MembershipChangeForm,
    TemporaryRoleForm,
)
from plixo.core.middleware import SESSION_ORG_KEY
from plixo.core.models import Role, User
from plixo.core.permissions import Cap, role_can
from plixo.core.selectors import (
    audit_trail,
    invitation_for,
    invitations_open,
    members_of,
    one_or_404,
)
from plixo.core.services import (
    InvitationUnusable,
    invitation_create,
    invitation_find,
    invitation_revoke,
    membership_change,
    membership_deactivate,
    membership_reactivate,
    membership_upgrade_end,
    membership_upgrade_temporary,
)
from plixo.core.services import invitation_accept as invitation_accept_service
from plixo.core.templatetags.plixo import when_label

AUDIT_PAGE_SIZE = 50

login = public(
    auth_views.LoginView.as_view(
        template_name="registration/login.html",
        authentication_form=LoginForm,
        redirect_authenticated_user=True,
    )
)
logout = public(auth_views.LogoutView.as_view())


@member_required
def home(request):
    """Where sign-in lands. The Controller gets today's A/R dashboard, loaded into the page as
    a panel (`reports:dashboard-panel`) so the page itself comes at once; everyone else goes
    to their invoice list."""
    if request.membership.role != Role.CONTROLLER:
        return redirect("ledger:invoice-list")
    return render(request, "core/home.html")


def _return_path(request) -> str:
    """Where to go after switching organization: back to the page the user was on, unless
    that page shows one object (it belongs to the organization just left, so it would 404)."""
    wanted = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) or not wanted.startswith("/"):
        return reverse("home")
    try:
        match = resolve(wanted.split("?", 1)[0])
    except Resolver404:
        return reverse("home")
    if match.kwargs:
        return reverse("home")
    return wanted


@member_required
@require_POST
def switch_org(request):
    wanted = request.POST.get("organization", "").strip()
    if not wanted:
        return _error(request, 400, "Bad request", "Choose an organization to switch to.")
    chosen = next((m for m in request.memberships if str(m.organization.public_id) == wanted), None)
    if chosen is None:
        raise Http404("You are not a member of that organization.")
    request.session[SESSION_ORG_KEY] = str(chosen.organization.public_id)
    messages.info(
        request, f"Now working in {chosen.organization.name} as {chosen.get_role_display()}."
    )
    return redirect(_return_path(request))


def _team_page(request, *, failed=None, invite_form=None, status=200):
    """The Users & Roles page. `failed` is (membership, kind, bound form) when a change to one
    member was refused, so that its form opens again with the errors."""
    organization = request.organization
    can_manage = role_can(request.membership.role, Cap.TEAM_MANAGE)
    now = timezone.now()
    rows = []
    for member in members_of(organization=organization):
        member.organization = organization  # the forms read its base currency
        row = {"member": member, "is_self": member.user_id == request.user.pk}
        if can_manage and row["is_self"] and failed is not None and failed[0].pk == member.pk:
            row["refused"] = failed[2].non_field_errors()
        if can_manage and not row["is_self"]:
            row["form"] = MembershipChangeForm(membership=member)
            row["temporary_form"] = TemporaryRoleForm(
                membership=member,
                initial={"role": Role.AR_MANAGER if member.lasting_role != Role.AR_MANAGER else ""},
            )
            if failed is not None and failed[0].pk == member.pk:
                row[failed[1]] = failed[2]
                row["open"] = failed[1]
        rows.append(row)
    invitations = []
    if can_manage:
        invitations = [
            {"invitation": invitation, "state": invitation.state_at(now)}
            for invitation in invitations_open(organization=organization)
        ]
    audit = Paginator(audit_trail(organization=organization), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "rows": rows,
        "audit": audit,
        "can_manage": can_manage,
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "active_count": sum(1 for row in rows if row["member"].is_active),
    }
    return render(request, "core/users_roles.html", context, status=status)


def _team_member(request, membership_id):
    member = one_or_404(members_of(organization=request.organization), membership_id)
    member.organization = request.organization
    return member


def _refused(exc) -> list[str]:
    if isinstance(exc, ValidationError):
        return exc.messages
    return [str(exc)]


@requires(Cap.TEAM_VIEW)
@require_GET
def team(request):
    return _team_page(request)


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_member(request, membership_id):
    member = _team_member(request, membership_id)
    form = MembershipChangeForm(request.POST, membership=member)
    if form.is_valid():
        try:
            membership_change(
                membership=member,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                role=form.cleaned_data["role"],
                approval_limit=form.cleaned_data["approval_limit"],
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refused(exc))
        else:
            messages.success(request, f"Access for {member.user.email} updated.")
            return redirect("team")
    return _team_page(request, failed=(member, "form", form))


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, _ = invitation_create(
                organization=request.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refused(exc))
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email} as {invitation.get_role_display()}; "
                f"the link works once, until {invitation.expires_at:%b} "
                f"{invitation.expires_at.day}.",
            )
            return redirect("team")
    return _team_page(request, invite_form=form, status=400)


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_invitation_revoke(request, invitation_id):
    invitation = invitation_for(organization=request.organization, public_id=invitation_id)
    try:
        invitation_revoke(invitation=invitation, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(_refused(exc)))
    else:
        messages.success(
            request, f"Invitation of {invitation.email} revoked: its link no longer works."
        )
    return redirect("team")


def _member_action(request, membership_id, service, done: str):
    member = _team_member(request, membership_id)
    form = AccessReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("team")
    try:
        service(membership=member, actor=request.user, reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(_refused(exc)))
    else:
        messages.success(request, done.format(email=member.user.email))
    return redirect("team")


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_member_deactivate(request, membership_id):
    return _member_action(
        request,
        membership_id,
        membership_deactivate,
        "{email} is deactivated: they can no longer open this organization or use its API keys.",
    )


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_member_reactivate(request, membership_id):
    return _member_action(request, membership_id, membership_reactivate, "{email} is active again.")


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_member_temporary(request, membership_id):
    member = _team_member(request, membership_id)
    # The typed time is a wall-clock time in the organization's zone.
    with timezone.override(zoneinfo.ZoneInfo(request.organization.time_zone)):
        form = TemporaryRoleForm(request.POST, membership=member)
        valid = form.is_valid()
    if valid:
        try:
            changed = membership_upgrade_temporary(
                membership=member,
                role=form.cleaned_data["role"],
                expires_at=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refused(exc))
        else:
            messages.success(
                request,
                f"{member.user.email} is {changed.get_role_display()} until "
                f"{when_label(changed.temporary_until, request.organization)}, then "
                f"{Role(changed.role_after).label} again.",
            )
            return redirect("team")
    return _team_page(request, failed=(member, "temporary_form", form), status=400)


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_member_temporary_end(request, membership_id):
    return _member_action(
        request,
        membership_id,
        membership_upgrade_end,
        "The temporary role of {email} has ended.",
    )


# --- invitation links -------------------------------------------------------------------------

INVITATION_PROBLEMS = {
    "expired": (
        "This invitation has expired",
        "Invitation links work for seven days. Ask the person who invited you to send a new one.",
    ),
    "accepted": (
        "This invitation was used already",
        "Each invitation link works once. If it was you, sign in; otherwise ask for a new one.",
    ),
    "revoked": (
        "This invitation was withdrawn",
        "It was revoked or replaced by a newer invitation; use the link in the latest email.",
    ),
    "unknown": (
        "This invitation link is not valid",
        "Check that the whole link was copied from the email, or ask for a new invitation.",
    ),
}


def _invitation_page(request, template, context, status=200):
    response = render(request, template, context, status=status)
    # The token is in the address: never hand it to another site as a referrer ("no-referrer"
    # would also blank the Origin of our own form posts, which the CSRF check needs).
    response["Referrer-Policy"] = "same-origin"
    return response


def _invitation_unusable(request, state: str):
    title, message = INVITATION_PROBLEMS.get(state, INVITATION_PROBLEMS["unknown"])
    return _invitation_page(
        request,
        "core/invitation_unusable.html",
        {"title": title, "message": message},
        status=404 if state == "unknown" else 410,
    )


@public
def invitation_accept(request, invite_token):
    """The link in an invitation email: a new person sets a name and password; someone with an
    account signs in and joins. Every way a link can be unusable answers a clear page."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        invitation = invitation_find(token=invite_token)
    except InvitationUnusable as exc:
        return _invitation_unusable(request, exc.state)
    user = request.user if request.user.is_authenticated else None
    has_account = user is None and User.objects.filter(email__iexact=invitation.email).exists()
    form = InvitationAcceptForm(request.POST or None) if user is None and not has_account else None
    wrong_user = user is not None and user.email.lower() != invitation.email
    context = {
        "invitation": invitation,
        "form": form,
        "has_account": has_account,
        "wrong_user": wrong_user,
        "login_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
        "errors": [],
    }
    if request.method == "POST" and not wrong_user and not has_account:
        if form is None or form.is_valid():
            try:
                membership = invitation_accept_service(
                    token=invite_token,
                    user=user,
                    full_name=form.cleaned_data["full_name"] if form else "",
                    password=form.cleaned_data["password"] if form else "",
                )
            except InvitationUnusable as exc:
                return _invitation_unusable(request, exc.state)
            except ValidationError as exc:
                context["errors"] = exc.messages
            else:
                if user is None:
                    auth_login(
                        request,
                        membership.user,
                        backend="django.contrib.auth.backends.ModelBackend",
                    )
                request.session[SESSION_ORG_KEY] = str(membership.organization.public_id)
                messages.success(
                    request,
                    f"Welcome to {membership.organization.name}: you joined as "
                    f"{membership.get_role_display()}.",
                )
                return redirect("home")
        return _invitation_page(request, "core/invitation_accept.html", context, status=400)
    return _invitation_page(request, "core/invitation_accept.html", context)


# --- error pages ------------------------------------------------------------------------------
# They render `error.html`, which stands alone (no navigation, no database access) so that it
# still renders when the request failed before the user or organization were known.


def _error(request, status, title, message):
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


def error_400(request, exception=None):
    return _error(request, 400, "Bad request", "The request could not be understood.")


def error_403(request, exception=None):
    message = str(exception) if exception and str(exception) else "You cannot open this page."
    return _error(request, 403, "Not allowed", message)


def error_404(request, exception=None):
    return _error(request, 404, "Not found", "There is nothing here, or it is not yours to see.")


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form posted without a valid token, almost always one left open
    past its session (or from before signing in again)."""
    return _error(
        request,
        403,
        "This form has expired",
        "The page was open too long, or you signed in again since it loaded. Reload the page "
        "and submit the form again; nothing was saved.",
    )


def error_500(request):
    return _error(
        request, 500, "Something went wrong", "The error has been logged; please try again."
    )
