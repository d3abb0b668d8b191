from django.urls import path

from plixo.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("switch-org/", views.switch_org, name="switch-org"),
    path("team/", views.team, name="team"),
    path("team/<uuid:membership_id>/", views.team_member, name="team-member"),
    path("team/invite/", views.team_invite, name="team-invite"),
    path(
        "team/invitations/<uuid:invitation_id>/revoke/",
        views.team_invitation_revoke,
        name="team-invitation-revoke",
    ),
    path(
        "team/<uuid:membership_id>/deactivate/",
        views.team_member_deactivate,
        name="team-member-deactivate",
    ),
    path(
        "team/<uuid:membership_id>/reactivate/",
        views.team_member_reactivate,
        name="team-member-reactivate",
    ),
    path(
        "team/<uuid:membership_id>/temporary/",
        views.team_member_temporary,
        name="team-member-temporary",
    ),
    path(
        "team/<uuid:membership_id>/temporary/end/",
        views.team_member_temporary_end,
        name="team-member-temporary-end",
    ),
    path("invite/<str:invite_token>/", views.invitation_accept, name="invitation-accept"),
]
