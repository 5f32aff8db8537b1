"""`helan admin` and the first start's platform administrator: operator tasks beside the API
(they call the same services, so the same rules apply) and below the CLI."""
