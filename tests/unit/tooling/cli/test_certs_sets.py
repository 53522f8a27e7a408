"""tooling/cli/certs.py --sets: each identity's folder gets its own key and certificate and the
CA certificate, nothing else (compose mounts one such volume per container)."""

from __future__ import annotations

import stat
from pathlib import Path

from tooling.cli import certs


def test_each_existing_folder_gets_only_its_identitys_files(tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    certs.ensure(ca)
    for name in ("orders", "probe"):
        (tmp_path / name).mkdir()

    handed = certs.hand_out(ca, tmp_path)

    assert handed == ["orders", "probe"]
    for name in handed:
        folder = tmp_path / name
        assert sorted(p.name for p in folder.iterdir()) == ["ca.crt", f"{name}.crt", f"{name}.key"]
        assert stat.S_IMODE((folder / f"{name}.key").stat().st_mode) == 0o600
        assert (folder / f"{name}.key").read_bytes() == (ca / f"{name}.key").read_bytes()
        assert (folder / "ca.crt").read_bytes() == (ca / "ca.crt").read_bytes()
    assert not (tmp_path / "gateway").exists()  # no folder, nothing written


def test_main_hands_out_after_issuing(tmp_path: Path) -> None:
    (tmp_path / "nats").mkdir()

    assert certs.main(["--dir", str(tmp_path / "ca"), "--sets", str(tmp_path)]) == 0

    assert sorted(p.name for p in (tmp_path / "nats").iterdir()) == [
        "ca.crt",
        "nats.crt",
        "nats.key",
    ]
    assert not (tmp_path / "nats" / "ca.key").exists()
