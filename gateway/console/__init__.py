"""The web console (DESIGN §2): server-rendered pages (Jinja2 + htmx + ECharts) served by the gateway."""
