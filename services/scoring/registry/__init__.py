"""The KA registry: accounts, their team, contacts and ratings, and the credit code check."""
