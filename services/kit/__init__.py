"""What every service runs on: settings, bus, database, audit, HTTP app, auth."""
