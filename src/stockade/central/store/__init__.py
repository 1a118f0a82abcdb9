"""Central DB stores: one module per kind of record, every query parameterised."""
