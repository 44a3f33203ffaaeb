"""Email over SMTP: the MIME message (UTF-8, plain text and HTML) and the async SMTP client."""
