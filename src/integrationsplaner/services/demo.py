"""Realistic German sample data, deterministic for a seed, fast enough for 100,000 measures.

Rows are written with ``executemany`` on the driver connection (the ORM would take minutes at
state scale); the full-text triggers still fire, so the index stays in step. Texts come from
``resources/demo.json``. A Kreis database gets measures of every office (the consolidated view),
a Verbandsgemeinde only its own.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.reference import MunicipalityRef, resource_path
from integrationsplaner.domain.text import sort_key
from integrationsplaner.services import audit
from integrationsplaner.services.evaluations import evaluation_id
from integrationsplaner.services.periods import current_period
from integrationsplaner.services.workspace import SOURCE_SYSTEM, Actor, Workspace
from integrationsplaner.store.bulk import bulk_load
from integrationsplaner.store.database import utcnow

DEFAULT_MEASURES = 300
_STREETS = ("Hauptstraße", "Bahnhofstraße", "Kirchstraße", "Schulstraße", "Am Markt")
CHUNK = 5_000
BULK_TABLES = (
    "partners",
    "contact_persons",
    "measures",
    "indicators",
    "budget_lines",
    "milestones",
    "measure_partners",
    "evaluations",
)
Progress = Callable[[int, int], bool]  # (done, total) -> False to cancel


@dataclass(frozen=True)
class DemoResult:
    measures: int
    partners: int
    evaluations: int
    rows: int


class _Generator:
    def __init__(self, ws: Workspace, seed: int, today: date) -> None:
        self.ws = ws
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today
        self.texts: dict[str, Any] = json.loads(resource_path("demo.json").read_text("utf-8"))
        ref = ws.reference
        own = ws.office_key
        self.offices = list(ref.office_keys()) if ref.office(own).kind == "kreis" else [own]
        self.places = {o.key: o.municipalities for o in ref.offices}
        self.all_places = ref.municipalities()
        self.target_groups = ref.codes("target_groups").codes()
        self.categories = ref.codes("budget_categories").codes()
        self.sources = ref.codes("funding_sources").codes()
        self.ratings = ref.codes("ratings").codes()
        self.recommendations = ref.codes("recommendations").codes()
        self.concepts = ref.concept_periods
        self.last_period = current_period(today)
        self.replicas = {
            key: uuid.UUID(int=random.Random(f"{seed}/{key}").getrandbits(128)).hex[:16]
            for key in ref.office_keys()
        }
        self.vv = {key: json.dumps({replica: 1}) for key, replica in self.replicas.items()}

    def uuid(self) -> str:
        """A random (version 4) UUID from the seeded generator; formatted by hand for speed."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def meta(self, office: str, when: datetime) -> tuple:
        replica = self.replicas[office]
        stamp = when.isoformat(" ") + ".000000"
        return (office, self.vv[office], "{}", replica, 0, stamp, stamp, "demo")

    def place(self, office: str) -> MunicipalityRef:
        places = self.places.get(office) or self.all_places
        return places[int(self.rng.random() * len(places))]


META_COLS = "office_key, vv, stamps, origin_replica, deleted, created_at, updated_at, updated_by"


class _Writer:
    """Inserts chunks on a second thread while the next chunk is generated.

    ``sqlite3`` releases the GIL while SQLite works, so generation (Python) and insertion
    (SQLite) overlap on two cores. One connection, used by one thread at a time.
    """

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._jobs: queue.Queue[tuple[str, str, list[tuple]] | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="demo-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    _insert(self._cursor, *job)
                except BaseException as exc:  # handed to the generating thread in finish()
                    self._error = exc

    def write(self, table: str, columns: str, rows: list[tuple]) -> None:
        if self._error is not None:
            raise self._error
        self._jobs.put((table, columns, rows))

    def finish(self) -> None:
        """Wait for every queued chunk; re-raise a failure of the writer thread."""
        self._jobs.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _insert(cursor: Any, table: str, columns: str, rows: list[tuple]) -> None:
    if rows:
        n = columns.count(",") + 1 + META_COLS.count(",") + 1
        cursor.executemany(
            f"INSERT INTO {table} ({columns}, {META_COLS}) VALUES ({', '.join('?' * n)})", rows
        )


def generate(
    ws: Workspace,
    measures: int = DEFAULT_MEASURES,
    seed: int = 1,
    *,
    today: date | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Add ``measures`` sample measures (with parts, partners and evaluations) in one transaction.

    Deterministic for a seed and ``today``. Cancelling through ``progress`` rolls everything back.
    """
    gen = _Generator(ws, seed, today or date.today())
    rng = gen.rng
    texts = gen.texts
    counts = {"partners": 0, "evaluations": 0, "rows": 0}
    with ws.db.engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        # Random UUID keys scatter index writes: a large page cache keeps them in memory, and
        # bulk_load drops indexes and triggers for the load and rebuilds them in one pass each
        # (same transaction, so a failure or cancel restores everything).
        cursor.execute("PRAGMA cache_size=-262144")
        loading = ExitStack()
        loading.enter_context(bulk_load(cursor, BULK_TABLES))
        existing_codes = {row[0] for row in cursor.execute("SELECT code FROM measures")}
        base_time = datetime(gen.concepts[0].start_year - 1, 10, 1, 9, 0)

        # partners: district-wide ones once, local ones per municipality, more as needed
        partner_ids: list[str] = []
        partner_rows, contact_rows = [], []
        wanted_partners = max(len(texts["partners"]), measures // 3)
        owner = ws.office_key if ws.reference.office(ws.office_key).kind == "kreis" else None

        def add_partner(name: str, kind: str, city: str, office: str) -> None:
            pid = gen.uuid()
            partner_ids.append(pid)
            areas = sorted(rng.sample(range(1, 6), rng.randint(1, 3)))
            partner_rows.append(
                (
                    pid,
                    name,
                    sort_key(name),
                    kind,
                    f"{rng.choice(_STREETS)} {rng.randint(1, 80)}",
                    f"{rng.randint(66840, 67700)}",
                    city,
                    f"0631 {rng.randint(100000, 999999)}",
                    f"info{len(partner_ids)}@beispiel-partner.de",
                    "",
                    json.dumps(areas),
                    json.dumps([office]),
                    "",
                    *gen.meta(office, base_time),
                )
            )
            first = rng.choice(texts["first_names"])
            last = rng.choice(texts["last_names"])
            contact_rows.append(
                (
                    gen.uuid(),
                    pid,
                    f"{first} {last}",
                    rng.choice(texts["functions"]),
                    f"0631 {rng.randint(100000, 999999)}",
                    f"{sort_key(first)}.{sort_key(last)}@beispiel-partner.de".replace(" ", ""),
                    "",
                    *gen.meta(office, base_time),
                )
            )

        for entry in texts["partners"]:
            add_partner(entry["name"], entry["kind"], entry["city"], owner or ws.office_key)
        n = 0
        while len(partner_ids) < wanted_partners:
            office = gen.offices[n % len(gen.offices)]
            place = gen.place(office)
            locals_ = texts["local_partners"]
            template = locals_[(n // len(gen.offices)) % len(locals_)]
            name = template["name"].format(ort=place.name)
            round_ = n // (len(gen.offices) * len(texts["local_partners"]))
            if round_:
                name = f"{name} ({round_ + 1})"
            add_partner(name, template["kind"], place.name, office)
            n += 1
        _insert(
            cursor,
            "partners",
            "id, name, name_sort, kind, street, postal_code, city, phone, "
            "email, website, action_areas, offices, notes",
            partner_rows,
        )
        _insert(
            cursor,
            "contact_persons",
            "id, partner_id, name, function, phone, email, notes",
            contact_rows,
        )
        counts["partners"] = len(partner_rows)
        counts["rows"] += len(partner_rows) + len(contact_rows)

        indicator_templates = texts["indicators"]
        serial = dict.fromkeys(gen.offices, 0)
        rnd = rng.random  # plain float draws: several times faster than randint in this loop

        def pick(seq: Any) -> Any:
            return seq[int(rnd() * len(seq))]

        def between(low: int, high: int) -> int:
            return low + int(rnd() * (high - low + 1))

        sort_keys: dict[str, str] = {}
        dumps_cache: dict[tuple, str] = {}
        evaluation_meta: dict[tuple[str, date], tuple] = {}
        periods = {
            c.key: [HalfYear(c.start_year + y, h) for y in range(3) for h in (1, 2)]
            for c in gen.concepts
        }
        rating_pool = [
            r for r, w in zip(gen.ratings, (12, 4, 2, 1, 1), strict=False) for _ in range(w)
        ]
        recommendation_pool = [
            r for r, w in zip(gen.recommendations, (14, 3, 2, 1), strict=False) for _ in range(w)
        ]
        people = [f"{f} {last}" for f in texts["first_names"] for last in texts["last_names"]]
        done = 0
        writer = _Writer(connection.connection.driver_connection.cursor())
        try:
            while done < measures:
                size = min(CHUNK, measures - done)
                m_rows, i_rows, b_rows, ms_rows, mp_rows, e_rows = [], [], [], [], [], []
                for k in range(size):
                    office = gen.offices[(done + k) % len(gen.offices)]
                    area = between(1, 5)
                    template = pick(texts["measures"][str(area)])
                    place = gen.place(office)
                    title = template["title"].format(ort=place.name)
                    if title not in sort_keys:
                        sort_keys[title] = sort_key(title)
                    while True:
                        serial[office] += 1
                        code = f"HF{area}-{serial[office]:05d}"
                        if code not in existing_codes:
                            break
                    concept = pick(gen.concepts)
                    half_years = periods[concept.key]
                    first_index = int(rnd() * 5)
                    start_hy = half_years[first_index]
                    length = pick((1, 2, 2, 2, 3))
                    end_hy = half_years[min(first_index + length - 1, 5)]
                    start = start_hy.start + timedelta(days=int(rnd() * 41))
                    end = None if rnd() < 0.05 else end_hy.end
                    status = (
                        "abgeschlossen"
                        if end is not None and end < gen.today
                        else "laufend"
                        if start <= gen.today
                        else "geplant"
                    )
                    if rnd() < 0.03:
                        status = pick(("ausgesetzt", "abgebrochen"))
                    meta = gen.meta(
                        office, datetime.combine(start, datetime.min.time()) - timedelta(days=60)
                    )
                    mid = gen.uuid()
                    groups = tuple(sorted({pick(gen.target_groups) for _ in range(between(1, 3))}))
                    if groups not in dumps_cache:
                        dumps_cache[groups] = json.dumps(list(groups))
                    places_key = (place.key,)
                    if places_key not in dumps_cache:
                        dumps_cache[places_key] = json.dumps([place.key])
                    m_rows.append(
                        (
                            mid,
                            code,
                            title,
                            sort_keys[title],
                            area,
                            status,
                            concept.key,
                            template["description"],
                            template["objective"],
                            int(rnd() < 0.3),
                            start.isoformat(),
                            end.isoformat() if end else None,
                            dumps_cache[groups],
                            dumps_cache[places_key],
                            *meta,
                        )
                    )
                    ind_ids = []
                    for pos, tpl in enumerate(rng.sample(indicator_templates, 3)):
                        iid = gen.uuid()
                        ind_ids.append((iid, tpl))
                        i_rows.append(
                            (
                                iid,
                                mid,
                                pos,
                                tpl["name"],
                                tpl["unit"],
                                float(between(*tpl["baseline"])),
                                float(between(*tpl["target"])),
                                tpl["direction"],
                                *meta,
                            )
                        )
                    for year in sorted({start.year, (end or start).year})[:3]:
                        b_rows.append(
                            (
                                gen.uuid(),
                                mid,
                                year,
                                pick(gen.categories),
                                pick(gen.sources),
                                between(5, 400) * 10_000,
                                "",
                                *meta,
                            )
                        )
                    b_rows.append(
                        (
                            gen.uuid(),
                            mid,
                            start.year,
                            "personal",
                            pick(gen.sources),
                            between(50, 900) * 10_000,
                            "",
                            *meta,
                        )
                    )
                    for _ in range(between(1, 2)):
                        due = start + timedelta(days=between(20, 300))
                        is_done = due < gen.today and rnd() < 0.8
                        due_text = due.isoformat()
                        ms_rows.append(
                            (
                                gen.uuid(),
                                mid,
                                pick(texts["milestones"]),
                                due_text,
                                int(is_done),
                                due_text if is_done else None,
                                *meta,
                            )
                        )
                    roles = (
                        ["federfuehrend"]
                        + ["partner"] * between(0, 1)
                        + (["foerderer"] if rnd() < 0.2 else [])
                    )
                    used: set[str] = set()
                    for role in roles:
                        pid = pick(partner_ids)
                        if pid not in used:
                            used.add(pid)
                            mp_rows.append((gen.uuid(), mid, pid, role, *meta))
                    hy = start_hy
                    last = end_hy if end_hy < gen.last_period else gen.last_period
                    while hy <= last:
                        evaluated_on = hy.end + timedelta(days=between(10, 40))
                        e_key = (office, evaluated_on)
                        if e_key not in evaluation_meta:
                            evaluation_meta[e_key] = gen.meta(
                                office, datetime.combine(evaluated_on, datetime.min.time())
                            )
                        actual = ", ".join(
                            f'"{iid}": {float(round(rnd() * 1.1 * tpl["target"][1]))}'
                            for iid, tpl in sorted(ind_ids, key=lambda pair: pair[0])
                        )
                        total = between(5, 80)
                        e_rows.append(
                            (
                                evaluation_id(mid, hy.key),
                                mid,
                                hy.key,
                                "abgeschlossen"
                                if hy < gen.last_period
                                else pick(("entwurf", "abgeschlossen")),
                                pick(rating_pool),
                                between(10, 100),
                                "{" + actual + "}",
                                between(0, 200) * 10_000,
                                total,
                                between(0, total),
                                between(0, total // 2),
                                pick(texts["results"]),
                                pick(texts["obstacles"]),
                                pick(texts["next_steps"]),
                                pick(recommendation_pool),
                                pick(people),
                                evaluated_on.isoformat(),
                                *evaluation_meta[e_key],
                            )
                        )
                        hy = hy.next()
                writer.write(
                    "measures",
                    "id, code, title, title_sort, action_area, status, "
                    "concept_period, description, objective, networking, start_date, end_date, "
                    "target_groups, municipalities",
                    m_rows,
                )
                writer.write(
                    "indicators",
                    "id, measure_id, position, name, unit, baseline, target, direction",
                    i_rows,
                )
                writer.write(
                    "budget_lines",
                    "id, measure_id, year, category, funding_source, planned_cents, note",
                    b_rows,
                )
                writer.write(
                    "milestones", "id, measure_id, title, due_date, done, done_on", ms_rows
                )
                writer.write("measure_partners", "id, measure_id, partner_id, role", mp_rows)
                writer.write(
                    "evaluations",
                    "id, measure_id, period, state, rating, progress, "
                    "actual_values, costs_spent_cents, participants_total, participants_female, "
                    "participants_minors, results, obstacles, next_steps, recommendation, "
                    "evaluated_by, evaluated_on",
                    e_rows,
                )
                counts["evaluations"] += len(e_rows)
                counts["rows"] += (
                    len(m_rows)
                    + len(i_rows)
                    + len(b_rows)
                    + len(ms_rows)
                    + len(mp_rows)
                    + len(e_rows)
                )
                done += size
                if progress is not None and progress(done, measures) is False:
                    raise DemoCancelled()
        finally:
            writer.finish()
        loading.close()  # full-text entries, journal entries, indexes and triggers
        # half-years before the one now being evaluated are closed
        for hy in _past_periods(gen):
            cursor.execute(
                "INSERT OR IGNORE INTO review_periods(key, year, half, closed, closed_at, "
                "closed_by) VALUES (?, ?, ?, 1, ?, 'demo')",
                (
                    hy.key,
                    hy.year,
                    hy.half,
                    f"{(hy.end + timedelta(days=60)).isoformat()} 00:00:00.000000",
                ),
            )
    with ws.db.transaction() as session:
        actor = Actor(ws.user, ws.office_key, ws.db.replica_id, SOURCE_SYSTEM)
        audit.record(
            session,
            actor,
            "database",
            ws.db.replica_id,
            "demodaten",
            None,
            None,
            {"measures": measures, "seed": seed, "at": utcnow().isoformat()},
        )
    return DemoResult(measures, counts["partners"], counts["evaluations"], counts["rows"])


def _past_periods(gen: _Generator) -> list[HalfYear]:
    first = HalfYear(gen.concepts[0].start_year, 1)
    result = []
    hy = first
    while hy < gen.last_period:
        result.append(hy)
        hy = hy.next()
    return result


class DemoCancelled(Exception):
    """Raised when the progress callback asks to stop; the transaction is rolled back."""
