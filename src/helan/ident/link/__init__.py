"""The identifier system linked to the platform: tenants' prefixes, devices' identifiers.

``rules`` decides which identifiers a tenant may hold, ``records`` what a device's record
says, ``service.IdentLink`` runs the embedded node and keeps its records in step.
"""
