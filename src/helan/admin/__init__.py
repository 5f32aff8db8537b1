"""`helan admin` and the first start's platform administrator: operator tasks that sit above the API
(they reuse its rules) and below the CLI."""
