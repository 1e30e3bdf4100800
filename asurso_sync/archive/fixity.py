"""Read-only fixity checks of a sealed bag that name exactly what is wrong.

bagit-python stops at the first failing stage and never looks at the register; the secretary
needs every missing, changed or unexpected file by name, so this module re-implements the
checks of RFC 8493 §3 (completeness, Payload-Oxum, every manifest and tag manifest) without
ever opening a file of the bag for writing. Each file is read once with a large buffer and
fed to every algorithm its manifests use.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

BUFFER = 1024 * 1024
ALGORITHMS = ("sha512", "sha256")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bag: `kind` is missing, changed, unexpected, oxum or structure."""

    kind: str
    path: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class VerifyResult:
    bag: str
    full: bool
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes_hashed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def hash_file(path: Path, algorithms: Iterable[str] = ALGORITHMS) -> tuple[dict[str, str], int]:
    """Every digest of one file in one pass: {alg: hex}, and the byte count."""
    hashers = {alg: hashlib.new(alg) for alg in algorithms}
    buf = bytearray(BUFFER)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            size += n
            chunk = view[:n]
            for h in hashers.values():
                h.update(chunk)
    return {alg: h.hexdigest() for alg, h in hashers.items()}, size


def file_sha512(path: Path) -> str:
    return hash_file(path, ("sha512",))[0]["sha512"]


def _decode_path(text: str) -> str:
    """Manifest paths percent-encode CR, LF and % (RFC 8493 §2.1.3)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def read_manifest(path: Path) -> dict[str, str]:
    """{relative path: hex digest} of one manifest or tag manifest."""
    entries: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, rel = line.partition(" ")
        entries[_decode_path(rel.strip().lstrip("*"))] = digest.lower()
    return entries


def read_tags(path: Path) -> dict[str, str]:
    """`Label: value` lines of bagit.txt / bag-info.txt (the first value of a repeated label)."""
    tags: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if ":" in line and not line[:1].isspace():
            label, _, value = line.partition(":")
            tags.setdefault(label.strip(), value.strip())
    return tags


def _walk_files(root: Path, base: Path) -> set[str]:
    found = set()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            found.add(Path(dirpath, name).relative_to(base).as_posix())
    return found


def _manifests(bag: Path, prefix: str) -> dict[str, dict[str, str]]:
    out = {}
    paths = sorted(
        bag.glob(f"{prefix}-*.txt"), key=lambda p: (p.name != f"{prefix}-sha512.txt", p.name)
    )
    for path in paths:
        alg = path.name[len(prefix) + 1 : -4]
        out[alg] = read_manifest(path)
    return out


def _compare(
    bag: Path,
    listed: dict[str, dict[str, str]],
    present: set[str],
    hash_them: bool,
    result: VerifyResult,
) -> None:
    """Missing / unexpected / changed files for one family of manifests."""
    names = {name for entries in listed.values() for name in entries}
    for name in sorted(names - present):
        result.problems.append(Problem("missing", name))
    for name in sorted(present - names):
        result.problems.append(Problem("unexpected", name, "listed in no manifest"))
    for name in sorted(present & names):
        lacking = [alg for alg, entries in listed.items() if name not in entries]
        if lacking:
            result.problems.append(
                Problem("unexpected", name, "not in the " + ", ".join(lacking) + " manifest")
            )
    if not hash_them:
        return
    for name in sorted(present & names):
        algs = [alg for alg, entries in listed.items() if name in entries]
        digests, size = hash_file(bag / name, algs)
        result.files += 1
        result.bytes_hashed += size
        bad = [alg for alg in algs if digests[alg] != listed[alg][name]]
        if bad:
            result.problems.append(Problem("changed", name, " and ".join(bad) + " differ"))


def _check_oxum(bag: Path, info: dict[str, str], payload: set[str], result: VerifyResult) -> None:
    oxum = info.get("Payload-Oxum", "")
    octets, _, count = oxum.partition(".")
    if not (octets.isdigit() and count.isdigit()):
        result.problems.append(Problem("structure", "bag-info.txt", "no valid Payload-Oxum"))
        return
    found_bytes = sum((bag / name).stat().st_size for name in payload)
    if (int(octets), int(count)) != (found_bytes, len(payload)):
        result.problems.append(
            Problem(
                "oxum",
                "data/",
                f"Payload-Oxum {oxum}, found {found_bytes}.{len(payload)}",
            )
        )


def verify_bag(bag: Path, *, full: bool = False, anchor_sha512: str | None = None) -> VerifyResult:
    """Check one bag without modifying it.

    Fast: structure, Payload-Oxum, completeness of every payload manifest, and the (small) tag
    files against the tag manifests, so an edited bag-info.txt is caught cheaply. Full: also
    every payload file against every payload manifest. `anchor_sha512` is the digest of
    `tagmanifest-sha512.txt` recorded at ingest: regenerated manifests are caught too.
    """
    bag = Path(bag)
    result = VerifyResult(bag=bag.name, full=full)
    if not bag.is_dir():
        result.problems.append(Problem("missing", bag.name, "the bag folder is gone"))
        return result
    for required in ("bagit.txt", "data"):
        if not (bag / required).exists():
            result.problems.append(Problem("missing", required, "required by BagIt"))
    payload_manifests = _manifests(bag, "manifest")
    tag_manifests = _manifests(bag, "tagmanifest")
    if not payload_manifests:
        result.problems.append(Problem("missing", "manifest-sha512.txt", "no payload manifest"))
    if not tag_manifests:
        result.problems.append(Problem("missing", "tagmanifest-sha512.txt", "no tag manifest"))
    if result.problems:
        return result
    info = read_tags(bag / "bag-info.txt") if (bag / "bag-info.txt").exists() else {}

    payload = _walk_files(bag / "data", bag)
    _compare(bag, payload_manifests, payload, full, result)

    tag_files = {
        name
        for name in _walk_files(bag, bag)
        if not name.startswith("data/") and not name.startswith("tagmanifest-")
    }
    _compare(bag, tag_manifests, tag_files, True, result)

    if not any(
        p.kind in ("missing", "unexpected") and p.path.startswith("data/") for p in result.problems
    ):
        _check_oxum(bag, info, payload, result)

    anchor_file = bag / "tagmanifest-sha512.txt"
    if anchor_sha512 and anchor_file.exists() and file_sha512(anchor_file) != anchor_sha512:
        result.problems.append(
            Problem(
                "changed", "tagmanifest-sha512.txt", "differs from the digest recorded at ingest"
            )
        )
    return result
