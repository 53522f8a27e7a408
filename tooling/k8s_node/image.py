"""Write a one-layer image as a `docker save` archive, with no engine and no registry.

The node's pause image and CoreDNS are single static binaries: this makes their images from the
binaries `make tools-k8s` built, for `ctr images import`, so the cluster needs no Docker for
them. python -m tooling.k8s_node.image OUT.tar NAME:TAG '["/entry"]' SRC=DEST...
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

EPOCH = "1970-01-01T00:00:00Z"


def _layer(files: list[tuple[Path, str]]) -> bytes:
    """A tar of the files at their destinations, owned by root, with their parent folders."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as layer:
        folders: set[str] = set()
        for source, destination in files:
            parts = destination.strip("/").split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    layer.addfile(info)
                    folders.add(folder)
            info = layer.gettarinfo(str(source), arcname="/".join(parts))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with source.open("rb") as data:
                layer.addfile(info, data)
    return buffer.getvalue()


def write_image(out: Path, tag: str, entrypoint: list[str], files: list[tuple[Path, str]]) -> None:
    layer = _layer(files)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": EPOCH,
            "config": {"Entrypoint": entrypoint, "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": EPOCH, "created_by": "tooling/k8s_node/image.py"}],
        },
        sort_keys=True,
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_dir = diff_id.removeprefix("sha256:")
    repository, _, version = tag.rpartition(":")
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [f"{layer_dir}/layer.tar"]}]
    entries = {
        config_name: config,
        f"{layer_dir}/layer.tar": layer,
        "manifest.json": json.dumps(manifest).encode(),
        "repositories": json.dumps({repository: {version: layer_dir}}).encode(),
    }
    with tarfile.open(out, "w") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def main(argv: list[str]) -> int:
    out, tag, entrypoint, *specs = argv
    files = [
        (Path(source), destination) for source, destination in (s.split("=", 1) for s in specs)
    ]
    write_image(Path(out), tag, json.loads(entrypoint), files)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
