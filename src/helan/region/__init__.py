"""The regional view: reference data (GB/T 2260 divisions, GB/T 4754 industries), plan
indicators computed from platform data, subsidy schemes with integrity checks, enterprise
credit, the expert pool. Pure rules here; storage and transactions in
``helan.services.region_*``."""
