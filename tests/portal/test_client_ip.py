"""Rate limits key on the payer's address, also behind reverse proxies."""

from django.test import RequestFactory, override_settings

from plixo.portal.middleware import client_ip


def request_with(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/p/x", **extra)


@override_settings(PLIXO_TRUSTED_PROXY_HOPS=0)
def test_without_a_proxy_a_forwarded_header_is_ignored():
    assert client_ip(request_with("198.51.100.7", "203.0.113.1")) == "198.51.100.7"


@override_settings(PLIXO_TRUSTED_PROXY_HOPS=1)
def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_wrote():
    # The client forged "1.2.3.4"; the proxy appended the address it really saw.
    request = request_with("10.0.0.2", "1.2.3.4, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


@override_settings(PLIXO_TRUSTED_PROXY_HOPS=2)
def test_behind_two_proxies_and_a_short_header_falls_back_to_the_peer():
    assert client_ip(request_with("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.1")) == "203.0.113.9"
    assert client_ip(request_with("10.0.0.2", "203.0.113.9")) == "10.0.0.2"
