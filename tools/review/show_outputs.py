"""Print a notebook's text outputs and save its images, to review a chapter from the shell."""
import base64
import json
import sys
from pathlib import Path

nb = json.load(open(sys.argv[1]))
out_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else None
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code":
        continue
    print(f"--- [{i}] {''.join(cell['source'])[:80]!r}")
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            print("".join(o["text"])[:1500])
        elif o["output_type"] == "error":
            print("ERROR", o["ename"], o["evalue"])
        else:
            data = o.get("data", {})
            if "image/png" in data and out_dir:
                out_dir.mkdir(exist_ok=True, parents=True)
                (out_dir / f"cell{i}.png").write_bytes(base64.b64decode(data["image/png"]))
                print(f"[image cell{i}.png]")
            elif "text/plain" in data:
                print("".join(data["text/plain"])[:1500])
