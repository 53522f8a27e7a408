"""The node's one-binary images: a `docker save` archive that containerd's import reads."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from tooling.k8s_node.image import write_image


def test_the_archive_names_its_tag_config_and_one_layer(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF not really")
    binary.chmod(0o755)
    out = tmp_path / "pause.tar"

    write_image(out, "local/pause:3.10", ["/pause"], [(binary, "/pause")])

    with tarfile.open(out) as archive:
        [manifest] = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest["RepoTags"] == ["local/pause:3.10"]
        config = json.load(archive.extractfile(manifest["Config"]))  # type: ignore[arg-type]
        layer = archive.extractfile(manifest["Layers"][0]).read()  # type: ignore[union-attr]
        repositories = json.load(archive.extractfile("repositories"))  # type: ignore[arg-type]
    assert config["config"]["Entrypoint"] == ["/pause"]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert repositories == {"local/pause": {"3.10": hashlib.sha256(layer).hexdigest()}}
    with tarfile.open(fileobj=io.BytesIO(layer)) as files:
        entry = files.getmember("pause")
        assert (entry.uid, entry.mode & 0o777) == (0, 0o755)
        assert files.extractfile(entry).read() == b"\x7fELF not really"  # type: ignore[union-attr]


def test_parent_folders_come_before_the_file(tmp_path: Path) -> None:
    binary = tmp_path / "coredns"
    binary.write_bytes(b"x")
    out = tmp_path / "coredns.tar"

    write_image(out, "local/coredns:node", ["/usr/bin/coredns"], [(binary, "/usr/bin/coredns")])

    with tarfile.open(out) as archive:
        [manifest] = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        layer = archive.extractfile(manifest["Layers"][0]).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(layer)) as files:
        assert files.getnames() == ["usr", "usr/bin", "usr/bin/coredns"]
