"""User roles and what each may do."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    SEKRETARIAT = "sekretariat"
    PIMPINAN = "pimpinan"
    ANGGOTA = "anggota"
    MODERATOR = "moderator"


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.SEKRETARIAT: "Sekretariat",
    Role.PIMPINAN: "Pimpinan",
    Role.ANGGOTA: "Anggota",
    Role.MODERATOR: "Moderator",
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
