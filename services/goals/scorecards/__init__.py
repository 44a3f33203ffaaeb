"""Team scorecards (绩效考核): schemes per role, the supervisor's ratings, sign-off and history."""
