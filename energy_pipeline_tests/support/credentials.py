"""Finding AWS credentials: in our own text files (strict), and in a built image's files (AWS key patterns)."""

from __future__ import annotations

import re
from pathlib import Path

ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")
SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")
# in third-party binaries and sources only a secret written next to its name is a finding, not any 40 characters
IMAGE_PATTERNS = re.compile(
    rb"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"
    rb"|aws_secret_access_key[\"']?\s*[=:]\s*[\"']?[A-Za-z0-9/+]{40}",
    re.IGNORECASE,
)
# IMAGE_PATTERNS cannot match a file whose lowercased bytes hold none of these. Looking for them first is ~6x
# faster than running the case-insensitive pattern over every byte of an image's site-packages.
IMAGE_PATTERN_LITERALS = (b"akia", b"asia", b"aws_secret_access_key")


def credentials_in(text: str) -> list[str]:
    """AWS access key ids, and 40-character secrets (digits, upper and lower case mixed, as AWS issues them)."""
    secrets = [
        m for m in SECRET_KEY.findall(text) if re.search(r"\d", m) and re.search(r"[a-z]", m) and re.search(r"[A-Z]", m)
    ]
    return [m.group(0) for m in ACCESS_KEY_ID.finditer(text)] + secrets


def files_with_credentials(root: Path, subtrees: tuple[str, ...], secrets: tuple[str, ...] = ()) -> list[str]:
    """Files under `root` (e.g. a mounted image) holding an AWS key pattern or one of the given secret values."""
    needles = [secret.encode() for secret in secrets]
    found = []
    for subtree in subtrees:
        top = root / subtree.lstrip("/")
        for path in [top] if top.is_file() else top.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            content = path.read_bytes()
            if _has_image_pattern(content) or any(needle in content for needle in needles):
                found.append(str(path.relative_to(root)))
    return found


def _has_image_pattern(content: bytes) -> bool:
    lowered = content.lower()
    return any(literal in lowered for literal in IMAGE_PATTERN_LITERALS) and IMAGE_PATTERNS.search(content) is not None
