from django.urls import path

from plixo.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("switch-org/", views.switch_org, name="switch-org"),
    path("team/", views.team, name="team"),
    path("team/<uuid:membership_id>/", views.team_member, name="team-member"),
]
