"""The five SimpleBank services, one package each; mesh/services.py lists them as data."""
