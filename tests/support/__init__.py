"""Test support that is not a fixture: stand-ins for the services Plixo talks to."""
