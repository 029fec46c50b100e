"""Text from people and monitors shown as HTML: Markdown rendered, then cleaned by an allowlist sanitiser."""

from __future__ import annotations

import markdown
import nh3
from markdown.extensions import Extension
from markupsafe import Markup

# What Markdown itself produces, nothing more: no images (tracking, data: URLs), forms, frames or styles.
TAGS = {"p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
        "h1", "h2", "h3", "h4", "h5", "h6", "a", "del", "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}  # never javascript:, data: or vbscript:


class _RawHtmlAsText(Extension):
    """Markdown without its raw-HTML pass-through: `<b>` in the source is shown as text, as written."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def safe_markdown(text: str | None) -> Markup:
    """User or monitor Markdown as HTML safe to insert in a page: raw HTML shown as text, links http(s)/mailto only."""
    if not text:
        return Markup("")
    # Raw HTML in the source is quoted as text (a reader sees what was written), then the sanitiser
    # drops whatever is not on the allowlist, whichever way Markdown produced it (links, autolinks).
    html = markdown.markdown(text, extensions=[_RawHtmlAsText()])
    return Markup(nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                            link_rel="noopener noreferrer nofollow"))
