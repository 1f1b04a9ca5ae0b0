"""Warnings about a live sitting's health line, in words staff can act on.

`problems()` of the live service names what makes the stream unhealthy (a stale rendition, a slow
program, failed storage). A stream can be healthy by that measure and still look bad to residents:
the hall sends 17 frames a second instead of 30, the program puts out 6, a rendition keeps
restarting. These warnings name those, from the same figures the console shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.i18n import N_

# Below this share of the nominal frame rate the picture visibly stutters.
LOW_FPS_SHARE = 0.8


@dataclass(frozen=True)
class IngestWarning:
    """`message` is a gettext id; `params` fill its %(name)s placeholders."""

    message: str
    params: dict[str, object] = field(default_factory=dict)


def ingest_warnings(
    *,
    target_fps: float,
    input_connected: bool,
    input_fps: float,
    output_fps: float,
    restarts: Mapping[str, int],
) -> list[IngestWarning]:
    low = target_fps * LOW_FPS_SHARE
    found = []
    if input_connected and input_fps < low:
        found.append(
            IngestWarning(
                N_(
                    "Gambar dari aula hanya %(fps)s fps (seharusnya %(target)s): "
                    "periksa OBS dan jaringan aula."
                ),
                {"fps": input_fps, "target": target_fps},
            )
        )
    if output_fps < low:
        found.append(
            IngestWarning(
                N_(
                    "Siaran keluar hanya %(fps)s fps dari %(target)s: penonton melihat gambar "
                    "patah-patah; server kewalahan."
                ),
                {"fps": output_fps, "target": target_fps},
            )
        )
    for rendition, count in sorted(restarts.items()):
        if count:
            found.append(
                IngestWarning(
                    N_("Rendisi %(rendition)s dimulai ulang %(count)s kali; periksa log server."),
                    {"rendition": rendition, "count": count},
                )
            )
    return found
