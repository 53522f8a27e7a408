"""The five SimpleBank services, one package each; mesh/topology.py lists them as data."""
