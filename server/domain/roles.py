"""User roles and what each may do."""

from __future__ import annotations

import enum

from server.i18n import N_


class Role(enum.StrEnum):
    ADMIN = "admin"
    SEKRETARIAT = "sekretariat"
    PIMPINAN = "pimpinan"
    ANGGOTA = "anggota"
    MODERATOR = "moderator"


ROLE_LABELS = {
    Role.ADMIN: N_("Administrator"),
    Role.SEKRETARIAT: N_("Sekretariat"),
    Role.PIMPINAN: N_("Pimpinan"),
    Role.ANGGOTA: N_("Anggota"),
    Role.MODERATOR: N_("Moderator"),
}

# Staff may run the console; admin may do everything staff can.
STAFF = frozenset({Role.ADMIN, Role.SEKRETARIAT})
MODERATORS = frozenset({Role.ADMIN, Role.SEKRETARIAT, Role.MODERATOR})
CHAIR = frozenset({Role.ADMIN, Role.SEKRETARIAT, Role.PIMPINAN})
MEMBERS_ROOM = frozenset({Role.ANGGOTA, Role.PIMPINAN, Role.SEKRETARIAT})


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"Peran tidak dikenal: {value!r}. Pilihan: {names}.") from None
