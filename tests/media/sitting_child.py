"""Run a LiveSitting until killed; used by the crash-recovery test (kill -9)."""

import asyncio
import json
import sys
from pathlib import Path

from media.live import LiveSitting
from media.source import SyntheticAudioTrack, SyntheticVideoTrack


async def main(media_dir: Path, segments: int) -> None:
    sitting = LiveSitting("crash", "Rapat Darurat", media_dir)
    await sitting.start()
    await sitting.attach_hall(SyntheticVideoTrack("Rapat Darurat"), SyntheticAudioTrack())
    print(json.dumps({"started_at": sitting.started_at}), flush=True)
    await sitting.packager.wait_for("720p", segments, None, timeout=30)
    print("segments", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
