"""Runs the orders service: `python -m services.orders`."""

from mesh.process import run
from services.orders.bootstrap import build

if __name__ == "__main__":
    run("orders", build)
