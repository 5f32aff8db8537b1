"""Contracts shared by the edge gateway and the platform: the native topic tree and payload
limits, the command wire format and the Sparkplug B codec. Both sides import from here; neither
imports the other, so a gateway box never loads the platform."""
