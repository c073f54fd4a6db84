"""The issue's example agreement, as an operator would write it."""

US_ROK_TECH = """
name = "us-rok-tech"
version = 1
parties = { countries = ["USA", "KOR"], organizations = [] }
categories = ["cyber-threat", "sensitive-technology", "supply-chain", "economic-coercion"]
max_classification = "S"
tlp_ceiling = "AMBER"
propin_match_only = true
aggregate_k = 3
retention_days = 730
"""
