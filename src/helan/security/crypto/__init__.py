"""Chinese commercial cryptography (SM2 signatures, SM3 digests, SM4-GCM sealing) for the layers
above: identifier trust, the audit chain and secrets at rest."""
