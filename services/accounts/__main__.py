"""Runs the accounts service: `python -m services.accounts`."""

from mesh.process import run
from services.accounts.bootstrap import build

if __name__ == "__main__":
    run("accounts", build)
