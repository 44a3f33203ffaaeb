"""The catalogue goals plans with: seasonal templates and the product lines we offer."""
