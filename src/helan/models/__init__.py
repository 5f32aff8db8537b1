"""Models of the industrial apps (remaining useful life, anomaly detection, fault diagnosis,
energy forecast): each trained and evaluated from files in its data set's own format by
``helan models eval <name>``, and kept in a versioned registry (:mod:`helan.models.registry`)
from which the live apps load them."""
