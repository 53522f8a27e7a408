"""Runs the gateway: `python -m services.gateway`."""

from mesh.process import run
from services.gateway.bootstrap import build

if __name__ == "__main__":
    run("gateway", build)
