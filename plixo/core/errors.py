"""Errors a view can raise to answer with a clear page instead of a stack trace."""


class ServiceUnavailable(Exception):
    """A part of Plixo that this server cannot provide right now (a missing system library, a
    provider that is not configured). Answered with a 503 page that says what is missing."""
