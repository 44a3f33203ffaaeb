"""A message as every channel needs it: subject, plain text, HTML, markdown, and the console link."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One kind's message in one language (``str.format`` fields: ``{account}``, ``{title}``, ``{due}`` …)."""

    subject: str
    body: str


@dataclass(frozen=True)
class Rendered:
    """A message rendered for one language."""

    language: str
    subject: str
    body: str  # what happened, one paragraph
    link: str
    due: str  # the due time in the company's zone ("" when the kind has none)
    critical: bool

    @property
    def text(self) -> str:
        """The plain-text email part and in-app body."""
        return f"{self.body}\n\n{OPEN_LABEL[self.language]}: {self.link}\n"


OPEN_LABEL = {"zh-CN": "查看详情", "en": "Open"}
