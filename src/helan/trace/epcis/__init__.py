"""EPCIS 2.0 documents: the bundled GS1 schema and examples (``gs1/``), CBV vocabularies,
JSON-LD and XML parsing, and validation with per-event JSON paths."""
