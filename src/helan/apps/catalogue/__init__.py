"""The app catalogue: every app's manifest, per-tenant install / configure / enable / disable /
uninstall with audit, and usage counters (installs, active tenants, calls) for the regional
indicator "apps in use" (:func:`helan.apps.catalogue.service.usage`)."""
