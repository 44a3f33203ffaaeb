"""Swagger UI and ReDoc come from assets shipped with the project: the pages name no other host, every asset they
reference answers 200, and their CSP allows this origin only."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from gateway.app import create_app as create_gateway
from services.risk.app import create_app as create_risk
from services.risk.config import RiskSettings
from shared.api_docs import STATIC_DIR, VENDORED_VERSIONS
from tests.gateway.platform import offline_gateway_settings
from tests.support import running, service_settings

URL_ATTRIBUTES = {"src", "href", "spec-url", "data-openapi-url", "data-oauth2-redirect-url"}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in URL_ATTRIBUTES and value]


def _references(page: str) -> list[str]:
    parser = _References()
    parser.feed(page)
    return parser.urls


def _apps(tmp_path: Path):
    yield "gateway", create_gateway(offline_gateway_settings(tmp_path))
    yield (
        "risk",
        create_risk(service_settings(RiskSettings, database_url="sqlite+aiosqlite:///:memory:", nats_url=None)),
    )


@pytest.mark.parametrize("which", ["gateway", "risk"])
async def test_docs_pages_load_only_shipped_assets_from_this_origin(tmp_path: Path, which: str):
    app = dict(_apps(tmp_path))[which]
    async with running(app) as client:
        for page in ("/docs", "/redoc"):
            response = await client.get(page)
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
            csp = response.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
            assert "http" not in csp and "cdn" not in response.text.lower()
            assert response.headers["x-content-type-options"] == "nosniff"
            urls = _references(response.text)
            assert len(urls) >= 3, urls
            for url in urls:
                absolute = urlsplit(urljoin(f"http://testserver{page}", url))
                assert absolute.netloc == "testserver", (page, url)  # relative to this origin: no other host
                asset = await client.get(absolute.path)
                assert asset.status_code == 200, (page, url)
                if absolute.path.endswith(".js"):
                    assert asset.headers["content-type"].startswith("text/javascript")  # nosniff needs the type
        # The OAuth2 redirect page's own script is shipped too.
        assert (await client.get("/docs/assets/oauth2-redirect.js")).status_code == 200


def test_the_vendored_assets_are_recorded_with_their_versions_and_licences():
    record = (STATIC_DIR / "VENDORED.md").read_text()
    for package, version in VENDORED_VERSIONS.items():
        assert f"`{package}` | {version}" in record
    for licence in ("swagger-ui.LICENSE.txt", "swagger-ui.NOTICE.txt", "redoc.LICENSE.txt"):
        assert (STATIC_DIR / licence).stat().st_size > 0
