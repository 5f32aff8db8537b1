"""Apps that ship with Helan, registered through the same manager as third-party apps."""
