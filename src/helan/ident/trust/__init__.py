"""Trust: SM2 signatures (SM3 digests) on handle records, verified down the delegation chain."""
