"""Remote commands: the platform sends, a gateway or device executes and replies."""
