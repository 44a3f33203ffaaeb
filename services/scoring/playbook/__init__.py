"""The strategy playbook: the value × potential quadrant's configuration, the strategy rule table, the product
catalogue learnt from goals, and one account's strategy built from them."""
