"""Simulated PLCs for tests and the demo: a Modbus TCP server (pymodbus) and an OPC UA server
(asyncua), speaking the real protocols on loopback."""
