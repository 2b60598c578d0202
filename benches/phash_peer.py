#!/usr/bin/env python3
"""The peer a brand team would write instead: Python's imagehash pHash.

Decodes every photo in a folder and takes its pHash, as a hand-built
judge re-judging from photo bytes would, and reports photos per second of
CPU time on one core. Use it on the folder that
`knockoff eval --set real-photos --photos DIR --save-listings OUT` wrote,
so both judge the same bytes:

    python3 benches/phash_peer.py OUT
"""
import io
import sys
import time
from pathlib import Path

import imagehash
from PIL import Image

folder = Path(sys.argv[1])
photos = [p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix.lower() in {".jpg", ".jpeg", ".png"}]
if not photos:
    sys.exit(f"{folder}: no photos")
repetitions = 3
started = time.process_time()
for _ in range(repetitions):
    for data in photos:
        imagehash.phash(Image.open(io.BytesIO(data)))
seconds = time.process_time() - started
count = len(photos) * repetitions
print(
    f"imagehash {imagehash.__version__} pHash: {len(photos)} photos x {repetitions}, "
    f"{seconds * 1000 / count:.2f} ms a photo ({count / seconds:.0f} photos/s, one core CPU)"
)
