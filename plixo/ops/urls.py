from django.urls import path

from plixo.ops import views

app_name = "ops"

# Jobs are named like "contacts.reactivate"; the view answers 404 for a name not registered.
urlpatterns = [
    path("", views.index, name="index"),
    path("jobs/<str:job_name>/pause/", views.job_pause, name="job-pause"),
    path("jobs/<str:job_name>/resume/", views.job_resume, name="job-resume"),
    path("jobs/<str:job_name>/run/", views.job_run, name="job-run"),
    path("maintenance/", views.maintenance_toggle, name="maintenance"),
    path("stripe/events/<str:event_id>/review/", views.stripe_review, name="stripe-review"),
]
