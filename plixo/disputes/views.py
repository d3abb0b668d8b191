"""The one way to read dispute evidence back: a download for staff who may see the invoice."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404

from plixo.core.access import requires
from plixo.core.permissions import Cap
from plixo.disputes.selectors import attachment_for


@requires(Cap.LEDGER_VIEW)
def attachment_download(request, attachment_id):
    attachment = attachment_for(membership=request.membership, public_id=attachment_id)
    try:
        handle = default_storage.open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The file of this attachment is missing from storage.") from exc
    # Always a download with the type we sniffed, never rendered inline: a file crafted to look
    # like a PDF but parsed as HTML by a browser would otherwise run on our origin.
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
