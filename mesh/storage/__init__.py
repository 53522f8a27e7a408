"""Storage: a service's database behind one interface, on SQLite or PostgreSQL, one unit of work
per transaction."""
