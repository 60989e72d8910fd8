"""Silent pushes: planning, delivery, budget."""
