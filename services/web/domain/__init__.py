"""Pure rules of the web service: accounts, sessions, and how things are written in Chinese."""
