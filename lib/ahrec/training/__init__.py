"""Training that every model shares: the loop, seeding, the labels training may see, the predictions format."""
