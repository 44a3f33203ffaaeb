"""Credit: profiles, scorecard assessments, maker-checker limits, receivables, orders, exposure and the credit check."""
