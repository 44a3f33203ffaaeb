"""Cross-department projects (跨部门协同): a customer's new project asked of marketing, product and after-sales."""
