"""Runs the fees service: `python -m services.fees`."""

from mesh.process import run
from services.fees.bootstrap import build

if __name__ == "__main__":
    run("fees", build)
