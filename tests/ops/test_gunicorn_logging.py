"""`plixo serve`'s access log never carries a payer-link token."""

import datetime as dt
import types

from gunicorn.config import Config

from plixo.ops.gunicorn_logging import RedactingLogger, redact
from plixo.ops.management.commands.serve import Command

TOKEN = "q8Vn0cS1v2Xl3mTz4-Ab_cDeFgHiJkLmNoPqRsTuVw"


def test_redact_masks_the_token_in_paths_request_lines_and_referrers():
    assert redact(f"/p/{TOKEN}") == "/p/[token]"
    assert redact(f"POST /p/{TOKEN}?x=1 HTTP/1.1") == "POST /p/[token]?x=1 HTTP/1.1"
    assert redact(f"https://pay.example/p/{TOKEN}/") == "https://pay.example/p/[token]/"
    assert redact("/portal/pay/") == "/portal/pay/"


def test_access_log_atoms_carry_no_token():
    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/p/{TOKEN}",
        "PATH_INFO": f"/p/{TOKEN}",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://mail.example/redirect?u=/p/{TOKEN}",
    }
    resp = types.SimpleNamespace(status="200 OK", sent=512, headers=[])
    req = types.SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(resp, req, environ, dt.timedelta(milliseconds=12))
    assert TOKEN not in repr(atoms)
    assert atoms["r"] == "GET /p/[token] HTTP/1.1"


def test_plixo_serve_uses_the_redacting_logger():
    argv = Command().gunicorn_argv(bind="127.0.0.1:8123", workers="1")
    assert argv[argv.index("--logger-class") + 1] == "plixo.ops.gunicorn_logging.RedactingLogger"
