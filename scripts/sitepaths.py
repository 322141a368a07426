"""Put the layer, every function and the repo root on the virtualenv's sys.path (a .pth file).

This mirrors Lambda's layout: the layer's package is importable as `common`, each function's package
by its own name, exactly as `/opt/python` and the function's CodeUri provide them when deployed.
"""

import site
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("auth", "records", "calendar_poll", "prep", "export")


def main() -> None:
    paths = [ROOT, ROOT / "layers" / "common", *(ROOT / "functions" / name for name in FUNCTIONS)]
    target = Path(site.getsitepackages()[0]) / "interview_tracker_paths.pth"
    target.write_text("".join(f"{p}\n" for p in paths))
    print(f"wrote {target.name} for {sys.prefix}")


if __name__ == "__main__":
    main()
