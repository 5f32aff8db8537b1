"""Product traceability: EPCIS 2.0 capture and query on Handle and GS1 identifiers, an
embedded event store, genealogy (backward, forward, recall with proof paths) and sharing
between enterprises. See docs/trace.md."""
