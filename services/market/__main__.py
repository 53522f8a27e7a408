"""Runs the market service: `python -m services.market`."""

from mesh.process import run
from services.market.bootstrap import build

if __name__ == "__main__":
    run("market", build)
