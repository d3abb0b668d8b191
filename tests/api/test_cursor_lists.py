"""Lists that may hold millions of rows page by cursor: following `next_cursor` visits every
row of the list once, in the same order as offsets, and `previous_cursor` comes back."""

import pytest

from tests.api.conftest import make_ledger

LISTS = ["/api/v1/invoices", "/api/v1/payments", "/api/v1/contacts", "/api/v1/messages"]


@pytest.fixture
def five_of_each(personas):
    for tag in "ABCDE":
        make_ledger(personas.org, tag=tag)
    make_ledger(personas.other_org, tag="OTHER")


@pytest.mark.parametrize("url", LISTS)
def test_next_cursor_walks_the_whole_list_and_previous_comes_back(
    controller_api, five_of_each, url
):
    by_offset = [row["id"] for row in controller_api.get(url, {"limit": 100}).json()["results"]]
    assert len(by_offset) >= 5 and len(set(by_offset)) == len(by_offset)

    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = controller_api.get(url, params).json()
        pages.append(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [row["id"] for page in pages for row in page["results"]] == by_offset
    assert len(pages) == (len(by_offset) + 1) // 2
    assert all(page["count"] == len(by_offset) and page["count_is_exact"] for page in pages)
    back = controller_api.get(url, {"limit": 2, "cursor": pages[2]["previous_cursor"]}).json()
    assert back["results"] == pages[1]["results"]


@pytest.mark.parametrize("url", LISTS)
def test_an_edited_cursor_is_a_422(controller_api, five_of_each, url):
    response = controller_api.get(url, {"cursor": "not-a-cursor"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
