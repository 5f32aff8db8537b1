"""Authentication, authorisation, tenant isolation, audit and crypto."""
