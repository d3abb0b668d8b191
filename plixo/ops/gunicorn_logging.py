"""gunicorn's access log, without payer-link tokens.

`/p/<token>` carries a bearer secret (R3); gunicorn's default access log prints the raw request
line and path. `plixo serve` uses this logger class so the token never reaches the log.
"""

import re

from gunicorn.glogging import Logger

_TOKEN_PATH = re.compile(r"(/p/)[^/?\s]+")
REDACTED = r"\1[token]"


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(REDACTED, text) if isinstance(text, str) else text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        # Every atom: the request line, path and referrer, but also the `{…}e` environ and
        # `{…}i` header atoms a custom --access-logformat may use.
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) for key, value in atoms.items()}
