"""Stand-in for `google.colab.drive` (see the package docstring): mount = make the folder."""

from __future__ import annotations

from pathlib import Path


def mount(
    mountpoint: str, force_remount: bool = False, timeout_ms: int = 120000, readonly: bool = False
) -> None:
    """Create `<mountpoint>/MyDrive` and say so, as Colab does after signing in."""
    Path(mountpoint, "MyDrive").mkdir(parents=True, exist_ok=True)
    print(f"Mounted at {mountpoint}")
