"""Study texts are Markdown rendered safely, and the volunteer page sends security headers."""

import pytest

from studyapp.text import render_markdown
from tests.factories import DatasetFactory, ImageFactory, StudyFactory

HOSTILE = """\
# Welcome

Read **carefully**. <script>alert("x")</script>
[terms](javascript:alert(1)) [site](https://example.org) <img src=x onerror=alert(2)>
<a href="https://ok.example" onclick="steal()">ok</a> <iframe src="https://evil.example"></iframe>
"""


def test_markdown_keeps_formatting_and_drops_scripts() -> None:
    html = render_markdown(HOSTILE)
    assert "<h1>Welcome</h1>" in html and "<strong>carefully</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">site</a>' in html
    for bad in ("<script", "javascript:", "onerror", "onclick", "<iframe", "<img"):
        assert bad not in html


@pytest.mark.django_db
def test_the_volunteer_page_renders_hostile_texts_inert(client) -> None:
    dataset = DatasetFactory()
    ImageFactory(dataset=dataset)
    StudyFactory(
        slug="hostile", datasets=[dataset], consent_text=HOSTILE, instructions_text=HOSTILE
    )
    html = client.get("/s/hostile/").content.decode()
    assert html.count("<strong>carefully</strong>") == 2
    assert "javascript:" not in html and "onerror" not in html and 'alert("x")' not in html
    assert html.count("<script") == 2  # the page's own: its JSON settings and its script file


@pytest.mark.django_db
def test_the_volunteer_page_sends_security_headers(client) -> None:
    dataset = DatasetFactory()
    ImageFactory(dataset=dataset)
    StudyFactory(slug="headers", datasets=[dataset])
    response = client.get("/s/headers/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
