"""Modbus TCP adapter (pymodbus): merged register reads, per-point quality, writes."""

from helan.edge.adapters.modbus.adapter import ModbusAdapter
from helan.edge.adapters.modbus.config import ModbusConnection, ModbusPoint

__all__ = ["ModbusAdapter", "ModbusConnection", "ModbusPoint"]
