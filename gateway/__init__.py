"""The API gateway: one public API, authentication, authorisation, composed views."""
