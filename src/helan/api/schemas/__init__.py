"""Request and response bodies of the REST API (pydantic): inputs forbid unknown fields."""
