"""The human faces of spotcheck (DESIGN §10): 掌上查, the console and the public site."""
