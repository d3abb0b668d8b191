from django.shortcuts import render


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
    return _error(request, 403, "Not allowed", str(exception) if exception else "")


def error_404(request, exception=None):
    return _error(request, 404, "Not found", "There is nothing here, or it is not yours to see.")


def error_500(request):
    return _error(request, 500, "Something went wrong", "The error has been logged.")
