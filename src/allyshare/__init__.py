"""allyshare: trusted STIX 2.1 / TAXII 2.1 sharing between allied nations, agencies and companies."""

__version__ = "0.1.0"
