"""The four domain services; none imports another (checked by import-linter)."""
