"""Risk service: Credit, exposure, early warning, contingency plans and contract compliance."""
