"""Action plans: the executable steps under a target and their status."""
