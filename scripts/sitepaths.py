"""Put the layer, every function and the repo root on the virtualenv's sys.path (a .pth file).

This mirrors Lambda's layout: the layer's package is importable as `common`, each function's package
by its own name, exactly as `/opt/python` and the function's CodeUri provide them when deployed.
"""

import os
import site
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("auth", "records", "calendar_poll", "prep", "export")


def main() -> None:
    paths = [ROOT, ROOT / "layers" / "common", *(ROOT / "functions" / name for name in FUNCTIONS)]
    site_dir = Path(site.getsitepackages()[0])
    target = site_dir / "interview_tracker_paths.pth"
    # Relative to site-packages (as .pth lines are read), so the checkout can move with its .venv.
    target.write_text("".join(f"{os.path.relpath(p, site_dir)}\n" for p in paths))
    print(f"wrote {target.name} for {sys.prefix}")


if __name__ == "__main__":
    main()
