"""Model families, one folder each with one file per role (as transformers lays them out)."""
