"""The console has an icon: linked from every page and served where browsers look for one."""

from __future__ import annotations


def test_the_pages_link_an_icon_that_is_served(client, signed_in):
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg"' in signed_in("analyst").get("/").text

    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")


def test_favicon_ico_answers_with_the_icon_without_signing_in(client):
    response = client.get("/favicon.ico", follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text == client.get("/static/favicon.svg").text
