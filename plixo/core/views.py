"""Sign-in, the organization switcher, the team page and the error pages."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from plixo.core.access import member_required, public, requires
from plixo.core.forms import LoginForm, MembershipChangeForm
from plixo.core.middleware import SESSION_ORG_KEY
from plixo.core.models import Role
from plixo.core.permissions import Cap, role_can
from plixo.core.selectors import audit_trail, members_of, one_or_404
from plixo.core.services import membership_change

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


def _team_page(request, *, failed=None, status=200):
    """The team page; `failed` is (membership, bound form) when a change was refused."""
    organization = request.organization
    can_manage = role_can(request.membership.role, Cap.TEAM_MANAGE)
    rows = []
    for member in members_of(organization=organization):
        member.organization = organization  # the form reads its base currency
        form = None
        if can_manage:
            if failed is not None and failed[0].pk == member.pk:
                form = failed[1]
            else:
                form = MembershipChangeForm(membership=member)
        rows.append({"member": member, "form": form})
    audit = Paginator(audit_trail(organization=organization), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"rows": rows, "audit": audit, "can_manage": can_manage}
    return render(request, "core/team.html", context, status=status)


@requires(Cap.TEAM_VIEW)
def team(request):
    return _team_page(request)


@requires(Cap.TEAM_MANAGE)
@require_POST
def team_member(request, membership_id):
    member = one_or_404(members_of(organization=request.organization), membership_id)
    member.organization = request.organization
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
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, f"Access for {member.user.email} updated.")
            return redirect("team")
    return _team_page(request, failed=(member, form))


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
