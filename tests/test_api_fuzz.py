"""Schemathesis against the served API: every operation of the OpenAPI document, anonymous and as
staff, with valid and invalid input. No answer may be a server error, a status the document does
not declare, or a body unlike the one it declares, so the document stays complete as code changes.

Bounded by examples, not by time: a fixed number per operation and mode, derandomized, so every run
sends the same requests whatever the machine's speed; a request timeout only stops a hang."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable

import hypothesis
import hypothesis.strategies as st
import requests
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.domain.documents import DocumentKind
from server.domain.sitting import SittingStatus
from server.store import repo
from tests.conftest import log_in
from tests.factories import new_sitting

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 15
REQUEST_TIMEOUT_S = 30
EXPLORE = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)


class Run:
    """One pass over the document as one client: the statuses seen and the distinct failures."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        cookies: dict[str, str],
        records: dict[str, list[int]],
    ) -> None:
        self.base_url = base_url
        self.headers = headers
        self.cookies = cookies
        self.records = records
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: dict[str, str] = {}

    def all_operations(self, document: dict) -> None:
        with requests.Session() as session:
            for result in schemathesis.openapi.from_dict(document).get_all_operations():
                operation = result.ok()
                modes = [GenerationMode.POSITIVE]
                if list(operation.iter_parameters()) or operation.body:
                    modes.append(GenerationMode.NEGATIVE)
                for mode in modes:
                    explore(
                        self.strategy(operation, mode),
                        lambda case, mode=mode: self.send(session, case, mode),
                    )

    def strategy(self, operation, mode: GenerationMode) -> st.SearchStrategy[Case]:
        """Any ids the document allows, or, half the time for valid input, the seeded records'
        ids: a random id in 1..2³¹-1 almost never names a record, and then no handler runs."""
        generated = operation.as_strategy(generation_mode=mode)
        names = [parameter.name for parameter in operation.path_parameters]
        if mode is GenerationMode.NEGATIVE or not names:
            return generated
        seeded = [
            operation.as_strategy(mode, path_parameters=dict(zip(names, ids, strict=True)))
            for ids in itertools.product(*(self.records[name] for name in names))
        ]
        return st.one_of(generated, st.one_of(seeded))

    def send(self, session: requests.Session, case: Case, mode: GenerationMode) -> None:
        response = case.call(
            base_url=self.base_url,
            session=session,
            headers=self.headers,
            cookies=self.cookies,
            timeout=REQUEST_TIMEOUT_S,
        )
        label = case.operation.label
        self.statuses[label, response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:
            for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                key = f"{label}: {failure.title} ({response.status_code}, {mode.value})"
                self.failures.setdefault(
                    key, f"{key}\n    {response.text[:200]}\n    {case.as_curl_command()}"
                )


def explore(strategy, send: Callable[[Case], None]) -> None:
    @EXPLORE
    @hypothesis.given(case=strategy)
    def example(case: Case) -> None:
        send(case)

    example()


async def fuzz(client, headers: dict[str, str], records: dict[str, list[int]]) -> Run:
    """Serve the app on loopback (the `client`'s server) while schemathesis, which blocks, runs in
    a thread; the client's cookies (a session, when logged in) go with every request."""
    document = await (await client.get("/api/v1/openapi.json")).json()
    cookies = {cookie.key: cookie.value for cookie in client.session.cookie_jar}
    run = Run(str(client.make_url("")), headers, cookies, records)
    await asyncio.to_thread(run.all_operations, document)
    return run


async def seed(store) -> dict[str, list[int]]:
    """Sittings in each status, with agenda items, and a document; their ids by path name."""
    records: dict[str, list[int]] = {"sitting_id": [], "item_id": [], "document_id": []}
    async with store.transaction() as session:
        for status in (SittingStatus.DRAFT, SittingStatus.SCHEDULED, SittingStatus.ENDED):
            sitting = await new_sitting(session, status=status, agenda=["Pembukaan", "Laporan"])
            records["sitting_id"].append(sitting.id)
            records["item_id"] += [item.id for item in sitting.agenda_items]
        document = await repo.create_document(
            session,
            jenis=DocumentKind.PERDA,
            judul="Perda Uji",
            tahun=2026,
            sha256="0" * 64,
            size=1,
            original_filename="perda.pdf",
        )
        records["document_id"].append(document.id)
    return records


async def test_anonymous_answers_are_all_documented(client, store):
    run = await fuzz(client, {}, await seed(store))
    assert not run.failures, "\n".join(run.failures.values())
    assert run.statuses["POST /api/v1/sittings", 403] > 0
    assert not [key for key in run.statuses if key[0] == "POST /api/v1/sittings" and key[1] < 300]


async def test_staff_answers_are_all_documented(client, store):
    records = await seed(store)
    token = await log_in(client, store, "sekretariat")
    run = await fuzz(client, {"X-CSRF-Token": token}, records)
    assert not run.failures, "\n".join(run.failures.values())
    assert run.statuses["POST /api/v1/sittings", 201] > 0, "the staff session and token hold"
    status = "POST /api/v1/sittings/{sitting_id}/status"
    assert run.statuses[status, 200] + run.statuses[status, 409] > 0, "seeded sittings reached"
