"""No credential in the repository, and the scanners (also used on the built image) do find planted keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline_tests.support.credentials import credentials_in, files_with_credentials

# AWS's documented example keys, split so that this file itself holds no key pattern
EXAMPLE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


def test_text_scanner_finds_real_looking_keys() -> None:
    text = f"key={EXAMPLE_KEY_ID} secret={EXAMPLE_SECRET} digest=sha256:{'a' * 40}"
    assert credentials_in(text) == [EXAMPLE_KEY_ID, EXAMPLE_SECRET]


def test_image_scanner_finds_planted_keys_and_named_secrets(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "clean.py").write_text("aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']\n")
    (tmp_path / "etc" / "key_id.env").write_text(f"AWS_ACCESS_KEY_ID={EXAMPLE_KEY_ID}\n")
    (tmp_path / "etc" / "credentials").write_text(f"[default]\naws_secret_access_key = {EXAMPLE_SECRET}\n")
    (tmp_path / "etc" / "task.env").write_text(f"AWS_SECRET_ACCESS_KEY: '{EXAMPLE_SECRET}'\n")  # any letter case
    (tmp_path / "etc" / "auth.json").write_bytes(b'{"auth": "s3cr3t-registry-token"}')
    found = files_with_credentials(tmp_path, ("/etc",), ("s3cr3t-registry-token",))
    assert sorted(found) == ["etc/auth.json", "etc/credentials", "etc/key_id.env", "etc/task.env"]


def test_no_credentials_in_the_repository_files() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert tracked.returncode == 0, tracked.stderr
    files = [PROJECT_ROOT / name for name in tracked.stdout.splitlines()]
    texts = [f for f in files if f.is_file() and f.suffix in {".py", ".json", ".yaml", ".yml", ".md", ".toml", ""}]
    assert any(f.name == "Dockerfile" for f in texts) and any(f.parent.name == "deploy" for f in texts)
    for path in texts:
        assert credentials_in(path.read_text(errors="replace")) == [], path
