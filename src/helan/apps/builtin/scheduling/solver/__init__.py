"""The scheduling solver, apart from the platform: problem data, the CP-SAT model, the JSPLIB
reader, the dispatching-rule baseline and rescheduling after a disruption."""
