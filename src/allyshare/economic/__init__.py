"""Economic coercion and supply-chain exposure: STIX 2.1 extensions and their views."""
