"""Domain types shared by every subsystem."""
