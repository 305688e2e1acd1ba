"""Orders and opportunities (商机): records of a customer, linked to the tickets that concern them."""
