from django.urls import path

from plixo.notes import views

app_name = "notes"

urlpatterns = [
    path("notes/", views.note_add, name="add"),
    path("notes/invoices/<uuid:invoice_id>/", views.invoice_notes, name="invoice-notes"),
    path("mentions/", views.mentions, name="mentions"),
    path("mentions/read/", views.mentions_read_all, name="mentions-read-all"),
    path("mentions/<uuid:mention_id>/read/", views.mention_read, name="mention-read"),
    path("mentions/<uuid:mention_id>/reply/", views.mention_reply, name="mention-reply"),
]
