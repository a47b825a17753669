"""Study texts are Markdown written by researchers; they reach volunteers only as sanitised HTML."""

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

_TAGS = {
    "p", "br", "hr", "em", "strong", "b", "i", "u", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody",
    "tr", "th", "td", "sup", "sub",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML with scripts, event handlers, styles and non-web links removed."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"])
    # Safe to mark: nh3 keeps only the allow-listed tags, attributes and URL schemes.
    return mark_safe(
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )
