"""What every service shares: settings, database and unit of work, errors, auth, health, logging."""
