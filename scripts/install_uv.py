"""Install uv into the running Python's environment, at the version and hashes that uv.lock holds.

The Makefile runs this with the venv's Python before its first `uv sync`: uv is the installer
of everything else, so it cannot install itself, and pip (which the venv starts with) installs it
in hash-checking mode from the same lock. Standard library only.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "uv.lock"


def uv_requirement(lock: Path) -> list[str]:
    """`uv==<version> --hash=sha256:...` for every wheel of uv in the lock."""
    packages = tomllib.loads(lock.read_text())["package"]
    [uv] = [package for package in packages if package["name"] == "uv"]
    hashes = [f"--hash={wheel['hash']}" for wheel in uv["wheels"]]
    return [f"uv=={uv['version']}", *hashes]


def main() -> int:
    requirement = " ".join(uv_requirement(LOCK))
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--require-hashes", "--no-deps", "--only-binary", ":all:", "-r", "/dev/stdin"],
        input=requirement, text=True, check=False,
    ).returncode  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
