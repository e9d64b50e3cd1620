"""Customers at scale (DESIGN.md section 7): import, search, point reads and memory, with raw baselines.

Run everything (1,000,000 customers on SQLite and PostgreSQL, plus the memory adapter's RSS)::

    .venv/bin/python -m benchmarks.scale --count 1000000 --engines sqlite,postgresql,memory

or through nox: ``nox -s bench -- scale`` (the defaults are a million on all three). Each engine writes
``benchmarks/results/scale-<engine>-<count>.json``; ``--report`` rewrites the results table in
docs/performance.md from those files. In the same run, ../shared/bench/raw_search_baseline.py is
run with the same count on the same engine, so every figure has its raw anchor beside it.

What is timed:

- import: the generator's rows (deterministic, seed 1) through ``book.customers.import_rows`` into
  the full schema (indexes, FTS5 / pg_trgm), validation included, batches of 5,000;
- search: a fixed mix of queries (text + 3 filters + sort + page 2; prefix; 2-character Chinese +
  filter; exact phone; exact tax number; status=active sorted by name, page 1 and page 50 via the
  cursor), each through ``book.customers.search`` with its total count;
- get by code and by id: ``book.customers.get``;
- memory: peak RSS of a process holding ``count`` customers in the memory adapter.

``--import-only`` also times :func:`raw_same_schema`, the bare driver writing the library's own rows
into the library's own schema (``--same-count N`` rows; 0 skips it), so the import has two anchors:
the narrow raw table and the same schema.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
RAW_BASELINE = Path(os.environ.get("BLC_RAW_BASELINE", ROOT.parent / "shared" / "bench" / "raw_search_baseline.py"))
PG_ADMIN = os.environ.get("BLC_BENCH_PG", "host=127.0.0.1 user=postgres dbname=postgres")
SEED = 1


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p95_ms": round(_pct(ms, 95), 3)}


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _setup(book: Any) -> None:
    from bigledger_customers import Actor
    from bigledger_customers.testing.generate import reference_data

    admin = Actor(id="bench", roles={"admin"})
    existing = {(e.kind.value, e.code) for kind in ("category", "region", "level", "sales_rep")
                for e in book.reference.list(kind)}  # fmt: skip
    for kind, code in reference_data():
        if (kind, code) not in existing:
            book.reference.add(kind, code, actor=admin)


def time_import(book: Any, count: int, *, workers: int | None = None, start: int = 1) -> dict[str, Any]:
    """Import the generator's ``count`` rows (numbered from ``start``); seconds and rows per second."""
    from bigledger_customers import Actor
    from bigledger_customers.testing.generate import customers

    _setup(book)
    started = time.perf_counter()
    admin = Actor(id="bench", roles={"admin"})
    report = book.customers.import_rows(customers(count, seed=SEED, start=start), actor=admin, workers=workers)
    seconds = time.perf_counter() - started
    return {
        "rows": count,
        "rows_ok": report.rows_ok,
        "errors": len(report.errors),
        "seconds": round(seconds, 2),
        "rows_per_s": round(count / seconds),
    }


def _queries(count: int) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(kind, search arguments, page number) of the fixed mix; deterministic for a count."""
    from bigledger_customers.domain.validation import normalise_phone
    from bigledger_customers.testing.generate import CATEGORIES, REGIONS, customers

    rng = random.Random(42)
    sample = [row for row in customers(min(count, 20_000), seed=SEED) if rng.random() < 0.05]
    words = ["trading", "manufacturing", "logistics", "foods", "electronics", "holdings", "steel", "marine"]
    prefixes = ["manu", "elec", "logi", "hold", "text", "furn", "engi", "plas", "supp", "phar"]
    cjk = ["深圳", "科技", "贸易", "物流", "食品", "电子", "上海", "五金", "家具", "实业"]
    for i in range(40):
        yield (
            "text+3 filters+sort, page 2",
            {"text": words[i % len(words)], "status": "active", "category": CATEGORIES[i % 3],
             "region": REGIONS["MY"][i % 4], "sort": "name", "limit": 20},
            2,
        )  # fmt: skip
        yield "prefix, sorted by name", {"text": prefixes[i % len(prefixes)], "sort": "name", "limit": 20}, 1
        yield (
            "2-char CJK + filter, sorted",
            {"text": cjk[i % len(cjk)], "status": "active", "sort": "name", "limit": 20},
            1,
        )
        row = sample[i % len(sample)]
        contact = row["contacts"][0]
        phone = normalise_phone(contact.get("mobile") or contact["phone"], region=row["country"])
        yield "exact phone", {"text": phone, "limit": 20}, 1
        yield "exact tax number", {"text": next(iter(row["tax_numbers"].values())), "limit": 20}, 1
        yield "status=active by name, page 1", {"status": "active", "sort": "name", "limit": 20}, 1
    for i in range(10):
        yield (
            "status=active by name, page 50",
            {"status": "active", "sort": "name", "limit": 20, "descending": i % 2 == 1},
            50,
        )


def time_search(book: Any, count: int) -> dict[str, Any]:
    """p50/p95 of the query mix, overall and by kind (paging to page N is not timed, page N is).

    Beside the wall-clock time, ``cpu_p50_ms`` / ``cpu_p95_ms`` give this process's CPU time for the
    same calls (all of SQLite's work; the client's side only on PostgreSQL): on a shared, loaded
    machine the wall clock mostly measures waiting for a core.
    """
    by_kind: dict[str, list[float]] = {}
    cpu_by_kind: dict[str, list[float]] = {}
    for kind, args, page_no in _queries(count):
        cursor = None
        for _ in range(page_no - 1):
            cursor = book.customers.search(**args, cursor=cursor, count_limit=0).next_cursor
        started, cpu = time.perf_counter(), time.process_time()
        page = book.customers.search(**args, cursor=cursor)
        by_kind.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        cpu_by_kind.setdefault(kind, []).append((time.process_time() - cpu) * 1000)
        if kind in ("exact phone", "exact tax number"):
            assert page.items, (kind, args)

    def summary(wall: list[float], cpu: list[float]) -> dict[str, float]:
        return {**_summary(wall), "cpu_p50_ms": round(statistics.median(cpu), 3), "cpu_p95_ms": round(_pct(cpu, 95), 3)}

    every = [ms for values in by_kind.values() for ms in values]
    every_cpu = [ms for values in cpu_by_kind.values() for ms in values]
    return {"all": summary(every, every_cpu), **{k: summary(ms, cpu_by_kind[k]) for k, ms in by_kind.items()}}


def time_gets(book: Any, count: int, replicas: int = 1) -> dict[str, Any]:
    rng = random.Random(7)
    base = count // replicas
    codes = [f"GEN-{rng.randrange(1, base + 1):07d}" for _ in range(200)]
    codes = [code if (r := rng.randrange(replicas)) == 0 else f"{code}-R{r}" for code in codes]
    ids = [book.customers.get(code).id for code in codes]
    by_code, by_id = [], []
    for code, customer_id in zip(codes, ids, strict=True):
        started = time.perf_counter()
        book.customers.get(code)
        by_code.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        book.customers.get(customer_id)
        by_id.append((time.perf_counter() - started) * 1000)
    return {
        "by_code_median_ms": round(statistics.median(by_code), 3),
        "by_id_median_ms": round(statistics.median(by_id), 3),
    }


_COPY_COLUMNS = (
    "status, customer_type, category, level, region, sales_rep, branch, version, created_at, updated_at, search_grams"
)


def _copy_statements(dialect: str, r: int) -> list[str]:
    """The INSERTs that add copy ``r`` of every original customer and its search keys."""
    cast = "::text" if dialect == "postgresql" else ""
    json_back = "::json" if dialect == "postgresql" else ""
    original = "strpos(id, '-r') = 0" if dialect == "postgresql" else "instr(id, '-r') = 0"
    return [
        f"""INSERT INTO customers (id, code, code_key, name_key, search_text, doc, {_COPY_COLUMNS})
        SELECT id || '-r{r}', code || '-R{r}', code_key || '-r{r}', name_key,
               code_key || '-r{r}' || substr(search_text, length(code_key) + 1),
               replace(replace(doc{cast}, id, id || '-r{r}'),
                       '"code": "' || code || '"', '"code": "' || code || '-R{r}"'){json_back},
               {_COPY_COLUMNS}
        FROM customers WHERE {original}""",  # noqa: S608 - numbers and fixed names only
        # Search keys (0007_search): the original's, but the copy's code instead of the original's.
        f"""INSERT INTO customer_search_keys (customer_id, search_key)
        SELECT k.customer_id || '-r{r}', k.search_key FROM customer_search_keys k
        JOIN customers c ON c.id = k.customer_id
        WHERE {original.replace("id", "c.id")} AND k.search_key <> c.code_key
        UNION ALL
        SELECT id || '-r{r}', code_key || '-r{r}' FROM customers WHERE {original}""",  # noqa: S608
    ]


def _replicate_sqlite(path: str, factor: int) -> int:
    """SQLite: the copies in one transaction with the rollback journal (not WAL) and the copied tables'
    secondary indexes and FTS5 insert trigger dropped; then the indexes are built again in one sort
    each and both FTS5 tables rebuilt from their content (``'rebuild'``), which leaves them exactly as
    the trigger would. Maintaining every index and both FTS5 tables row by row wrote 4 GB of WAL in
    50 minutes without finishing (page spills of a transaction larger than the cache)."""
    import sqlite3

    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -1000000")  # 1 GiB
        con.execute("PRAGMA temp_store = MEMORY")
        indexes = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('customers', 'customer_search_keys')"
        ).fetchall()
        (trigger,) = con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'customers_search_ai'"
        ).fetchone()
        con.execute("BEGIN IMMEDIATE")
        con.execute("DROP TRIGGER customers_search_ai")
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        for r in range(1, factor):
            for statement in _copy_statements("sqlite", r):
                con.execute(statement)
        for _, sql in indexes:
            con.execute(sql)
        con.execute(trigger)
        con.execute("INSERT INTO customer_text(customer_text) VALUES ('rebuild')")
        con.execute("INSERT INTO customer_grams(customer_grams) VALUES ('rebuild')")
        con.execute("COMMIT")
        con.execute("ANALYZE")
        con.execute("PRAGMA journal_mode = WAL")
        return int(con.execute("SELECT count(*) FROM customers").fetchone()[0])
    finally:
        con.close()


def replicate(url: str, factor: int) -> int:
    """Grow an imported database ``factor`` times inside the engine (for search timing at scale when
    importing a million rows through the library takes longer than the session has).

    Copy ``r`` of a customer gets id ``<id>-r<r>`` and code ``<code>-R<r>`` (in its row, document and
    search text); names, filters and text are the original's, so every term keeps its density. An
    exact phone or tax number then matches ``factor`` customers instead of one. Contacts and tags are
    not copied (search reads neither); search keys are, with the copy's code as its code key (every
    generated code is an identifier). Indexes and FTS tables end as row-by-row maintenance leaves
    them (on SQLite they are rebuilt after the copy, see :func:`_replicate_sqlite`).
    """
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        return _replicate_sqlite(sa.engine.make_url(url).database or "", factor)
    with engine.begin() as conn:
        for r in range(1, factor):
            for statement in _copy_statements(conn.dialect.name, r):
                conn.exec_driver_sql(statement)
        conn.exec_driver_sql("ANALYZE")
        total = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
    if engine.dialect.name == "postgresql":  # hint bits and the visibility map, as autovacuum would leave them
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE customers")
            conn.exec_driver_sql("VACUUM ANALYZE customer_search_keys")
    engine.dispose()
    return int(total)


def raw_beside(engine: str, count: int) -> dict[str, Any]:
    """:func:`raw_baseline` into a scratch database that is dropped afterwards (for --search-only runs)."""
    if engine == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="blc-raw-"))
        try:
            return raw_baseline(engine, count, str(tmp / "raw.db"))
        finally:
            for path in tmp.glob("*"):
                path.unlink()
            tmp.rmdir()
    name = f"blc_raw_{os.getpid()}"
    _pg_database(name)
    try:
        return raw_baseline(engine, count, PG_ADMIN.replace("dbname=postgres", f"dbname={name}"))
    finally:
        _pg_database(name, drop_only=True)


def raw_same_schema(url: str, count: int, batch: int = 5_000, *, start: int = 1) -> dict[str, Any]:
    """The bare driver's bulk insert of the library's own rows into the library's full schema.

    ``url`` names a fresh database; the library migrates it. The generator's ``count`` rows are
    validated and encoded batch by batch in this process by the import's own worker step
    (``bulk._prepare``), untimed; what is timed is only the driver writing them: ``sqlite3``
    ``executemany`` (the schema's FTS5 triggers fire per row, as for any plain insert) or psycopg
    ``COPY``, one transaction per batch, into customers, search keys, contacts, tags and match keys
    (not the audit entries and events the library adds). This is the issue's "raw driver into the
    same schema": what indexes and text search cost by themselves, beside the narrower
    ``raw_search_baseline.py`` table. ``start`` numbers the rows (codes and ids) from there, so a
    database that already holds rows can take more (``benchmarks/marginal.py``).
    """
    import sqlite3

    import psycopg

    from bigledger_customers import Actor, connect
    from bigledger_customers.adapters.sql._repositories import _CHILD_COLUMNS, _time_binder
    from bigledger_customers.services import bulk
    from bigledger_customers.testing.generate import customers

    with connect(url) as book:  # the full schema, migrated by the library
        _setup(book)
        admin = Actor(id="bench", roles={"admin"})
        ctx = bulk._Importer(book.services, mode="commit_good_rows", actor=admin, workers=0).ctx
        with book.unit_of_work(write=False) as uow:
            dialect = uow.connection.dialect  # type: ignore[attr-defined]
        now = book.services.clock.now()
    bind = _time_binder(dialect)
    sqlite = dialect.name == "sqlite"
    conn: Any = (
        sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        if sqlite
        else psycopg.connect(PG_ADMIN.replace("dbname=postgres", f"dbname={url.rsplit('/', 1)[1]}"))
    )
    rows = enumerate(customers(count, seed=SEED, start=start), start=start)
    seconds, stored = 0.0, 0
    columns: list[str] = []
    while chunk := [(n, data, f"raw{n:08d}") for n, data in itertools.islice(rows, batch)]:
        encoded = [r[3] for r in bulk._prepare(chunk, now, ctx) if not isinstance(r, list) and r[3] is not None]
        columns = columns or list(encoded[0][0])
        values = [
            tuple(bind(v) if isinstance(v, dt.datetime) else v for v in (e[0][c] for c in columns)) for e in encoded
        ]
        tables = [("customers", columns, values)]
        tables += [
            (name, list(cols), [x for e in encoded for x in e[1][name]]) for name, cols in _CHILD_COLUMNS.items()
        ]
        started = time.perf_counter()
        if sqlite:
            conn.execute("BEGIN")
            for name, cols, values in tables:
                marks = ", ".join("?" for _ in cols)
                conn.executemany(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({marks})", values)  # noqa: S608
            conn.execute("COMMIT")
        else:
            with conn.transaction(), conn.cursor() as cursor:
                for name, cols, values in tables:
                    with cursor.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)
        seconds += time.perf_counter() - started
        stored += len(encoded)
    conn.close()
    return {"rows": stored, "insert_seconds": round(seconds, 2), "rows_per_s": round(stored / seconds)}


def raw_baseline(engine: str, count: int, target: str | None) -> dict[str, Any]:
    """../shared/bench/raw_search_baseline.py on the same engine and count, as JSON."""
    args = [sys.executable, str(RAW_BASELINE), engine, str(count)]
    if target:
        args.append(target)
    done = subprocess.run(args, capture_output=True, text=True, check=True)  # noqa: S603 - our own script
    return json.loads(done.stdout)


def _pg_database(name: str, *, drop_only: bool = False) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG_ADMIN.split('user=')[1].split()[0]}@127.0.0.1/{name}"


def _replicate_memory(book: Any, replicas: int) -> None:
    """Grow the memory store ``replicas`` times with distinct objects (copies built from each
    customer's JSON form with a new id, code and names), as :func:`replicate` does in SQL."""
    from bigledger_customers.domain.convert import structure, unstructure
    from bigledger_customers.domain.customer import Customer

    with book.unit_of_work(write=False) as uow:
        originals = list(uow.store.customers.values())
    for r in range(1, replicas):
        for start in range(0, len(originals), 10_000):  # one unit of work (and undo journal) per 10,000
            with book.unit_of_work() as uow:
                for customer in originals[start : start + 10_000]:
                    doc = unstructure(customer)
                    doc["id"] = f"{customer.id}-r{r}"
                    doc["code"] = f"{customer.code}-R{r}"
                    doc["names"] = {lang: f"{name} {r}" for lang, name in customer.names.items()}
                    uow.customers.add(structure(doc, Customer))
                uow.commit()


def run_engine(
    engine: str, count: int, *, workers: int | None = None, keep: bool = False, replicas: int = 1
) -> dict[str, Any]:
    """Import, search and point reads on one engine; the raw baseline beside them."""
    from bigledger_customers import connect

    result: dict[str, Any] = {"engine": engine, "count": count}
    tmp = Path(tempfile.mkdtemp(prefix="blc-bench-"))
    if engine == "memory":
        book = connect("memory://")
        result["import"] = time_import(book, count // replicas, workers=workers)
        if replicas > 1:
            _replicate_memory(book, replicas)
            result["replicated_from"] = count // replicas
        result["rss_mib"] = _rss_mib()
        if replicas == 1:  # the reference adapter scans: at a million, one query takes about a second
            result["search"] = time_search(book, count)
        result["get"] = time_gets(book, count, replicas)
        return result
    if engine == "sqlite":
        url, raw_target = f"sqlite:///{tmp / 'bench.db'}", str(tmp / "raw.db")
        result["database"] = url
    else:  # one database for the library and one for the raw script, named for this process
        name = f"blc_bench_{os.getpid()}"
        url = _pg_database(name)
        _pg_database(f"{name}_raw")
        raw_target = PG_ADMIN.replace("dbname=postgres", f"dbname={name}_raw")
    try:
        result["raw"] = raw_baseline(engine, count, raw_target)
        if engine == "sqlite":
            Path(raw_target).unlink()
            Path(raw_target + "-wal").unlink(missing_ok=True)
            Path(raw_target + "-shm").unlink(missing_ok=True)
        if engine == "postgresql":
            _pg_database(f"{name}_raw", drop_only=True)
        with connect(url) as book:
            result["import"] = time_import(book, count, workers=workers)
            with book.unit_of_work() as uow:
                conn = uow.connection  # type: ignore[attr-defined]
                conn.exec_driver_sql("ANALYZE")
                uow.commit()
            result["search"] = time_search(book, count)
            result["get"] = time_gets(book, count)
        raw_rate = result["raw"].get("insert_rows_per_s") or result["raw"].get("copy_rows_per_s")
        result["import"]["raw_rows_per_s"] = raw_rate
        result["import"]["ratio_to_raw"] = round(result["import"]["rows_per_s"] / raw_rate, 2)
    finally:
        if keep:
            print(f"kept {url}", flush=True)
        else:
            if engine == "postgresql":
                _pg_database(name, drop_only=True)
                _pg_database(f"{name}_raw", drop_only=True)  # when the raw script failed half-way
            for path in tmp.glob("*"):
                path.unlink()
            tmp.rmdir()
    return result


def run_import(engine: str, count: int, *, workers: int | None = None, same_count: int | None = None) -> dict[str, Any]:
    """Import only (``--import-only``): the raw script first, then ``import_rows`` of the generator's
    ``count`` rows into a fresh database of the same engine, in the same run; the database is dropped.
    The figures are merged into ``scale-<engine>-<count>.json`` under ``import`` (search figures kept)."""
    from bigledger_customers import connect

    tmp = Path(tempfile.mkdtemp(prefix="blc-import-"))
    if engine == "sqlite":
        url, raw_target = f"sqlite:///{tmp / 'bench.db'}", str(tmp / "raw.db")
    else:
        name = f"blc_import_{os.getpid()}"
        url = _pg_database(name)
        _pg_database(f"{name}_raw")
        raw_target = PG_ADMIN.replace("dbname=postgres", f"dbname={name}_raw")
    try:
        load_before = os.getloadavg()
        raw = raw_baseline(engine, count, raw_target)
        if engine == "postgresql":
            _pg_database(f"{name}_raw", drop_only=True)
        same: dict[str, Any] | None = None
        if same_count != 0:
            same_url = f"sqlite:///{tmp / 'same.db'}" if engine == "sqlite" else _pg_database(f"{name}_same")
            try:
                same = raw_same_schema(same_url, same_count or count)
            finally:
                if engine == "postgresql":
                    _pg_database(f"{name}_same", drop_only=True)
                else:
                    for path in tmp.glob("same.db*"):
                        path.unlink()
        with connect(url) as book:
            imported = time_import(book, count, workers=workers)
            with book.unit_of_work(write=False) as uow:
                imported["stored"] = uow.customers.count()
    finally:
        if engine == "postgresql":
            _pg_database(name, drop_only=True)
            _pg_database(f"{name}_raw", drop_only=True)
        for path in tmp.glob("*"):
            path.unlink()
        tmp.rmdir()
    raw_rate = raw.get("insert_rows_per_s") or raw.get("copy_rows_per_s")
    imported["raw_rows_per_s"] = raw_rate
    imported["ratio_to_raw"] = round(imported["rows_per_s"] / raw_rate, 2)
    if same is not None:
        imported["raw_same_schema"] = same
        imported["ratio_to_raw_same_schema"] = round(imported["rows_per_s"] / same["rows_per_s"], 2)
    imported["load_avg"] = {"before": load_before, "after": os.getloadavg()}  # the machine is shared
    imported["run"] = machine()
    return imported


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _cell(search: dict[str, Any], kind: str) -> str:
    return f"{search[kind]['p50_ms']} / {search[kind]['p95_ms']}" if kind in search else ""


def _import_cell(imp: dict[str, Any]) -> str:
    return f"{imp['seconds']} s ({imp['rows_per_s']:,}/s)" if imp.get("seconds") else ""


def write_report(paths: list[Path], target: Path = ROOT / "docs" / "performance.md") -> None:
    """Rewrite the generated tables between the markers in docs/performance.md."""
    rows, kinds = [], []
    for path in sorted(paths):
        r = json.loads(path.read_text())
        s, imp, got = r.get("search", {}), r.get("import", {}), r.get("get", {})
        note = (
            f"{r['replicated_from']:,} imported, copied x{r['count'] // r['replicated_from']}"
            if "replicated_from" in r
            else ""
        )
        raw = f"{imp['raw_rows_per_s']:,}/s" if imp.get("raw_rows_per_s") else ""
        gets = f"{got['by_code_median_ms']} / {got['by_id_median_ms']}" if got else ""
        rows.append(
            f"| {r['engine']} | {r['count']:,} | {note} | {_import_cell(imp)} | {raw} | {imp.get('ratio_to_raw', '')} "
            f"| {_cell(s, 'all')} | {gets} | {r.get('rss_mib', '')} |"
        )
        for kind in s:
            if kind != "all":
                kinds.append(f"| {r['engine']} | {r['count']:,} | {kind} | {_cell(s, kind)} |")
    table = "\n".join(
        [
            "| engine | customers | how | import (rate) | raw rate | ratio | search p50 / p95 ms "
            "| get code / id median ms | peak RSS MiB |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "| engine | customers | query kind | p50 / p95 ms |",
            "|---|---|---|---|",
            *kinds,
        ]
    )
    text = target.read_text()
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    target.write_text(f"{head}{start}\n{table}\n{end}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql,memory")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--report", action="store_true", help="only rewrite docs/performance.md from results/")
    parser.add_argument("--keep", action="store_true", help="keep the database (for --search-only)")
    parser.add_argument("--search-only", metavar="URL", help="time search and gets again on a kept database")
    parser.add_argument(
        "--replicate", type=int, default=1, help="import count/N rows, then copy them N times (see replicate())"
    )
    parser.add_argument("--raw-count", type=int, default=0, help="rows for the raw baseline beside --search-only")
    parser.add_argument("--import-only", action="store_true", help="time the import (and raw script) only")
    parser.add_argument(
        "--same-count",
        type=int,
        default=None,
        help="rows for raw_same_schema beside --import-only (default: --count; 0 skips it)",
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    engines = args.engines.split(",")
    if args.search_only:
        from bigledger_customers import connect

        path = RESULTS / f"scale-{engines[0]}-{args.count}.json"
        result = json.loads(path.read_text()) if path.exists() else {"engine": engines[0], "count": args.count}
        if args.replicate > 1:
            started = time.perf_counter()
            result["replicated_from"] = args.count // args.replicate
            result["count"] = replicate(args.search_only, args.replicate)
            result["replicate_seconds"] = round(time.perf_counter() - started, 1)
        # the raw script's query mix in the same run, just before (at the imported count: loading a
        # million rows through the raw script takes longer than the search run itself)
        result["raw_search"] = raw_beside(engines[0], args.raw_count or args.count // args.replicate)
        with connect(args.search_only, create=False) as book:
            with book.unit_of_work() as uow:  # fresh statistics, as a host would keep them
                conn = uow.connection  # type: ignore[attr-defined]
                conn.exec_driver_sql("ANALYZE" if conn.dialect.name != "sqlite" else "PRAGMA optimize")
                uow.commit()
            load_before = os.getloadavg()
            result["search"] = time_search(book, args.count)
            result["load_avg"] = {"before": load_before, "after": os.getloadavg()}  # the machine is shared
            copies = args.replicate if args.replicate > 1 else args.count // result.get("replicated_from", args.count)
            result["get"] = time_gets(book, args.count, copies)
        result["search_rerun"] = machine()["when"]
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print(json.dumps(result["search"], ensure_ascii=False), flush=True)
    elif args.import_only:
        for engine in engines:
            path = RESULTS / f"scale-{engine}-{args.count}.json"
            result = json.loads(path.read_text()) if path.exists() else {"engine": engine, "count": args.count}
            result["import"] = run_import(engine, args.count, workers=args.workers, same_count=args.same_count)
            path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
            print(json.dumps(result["import"], ensure_ascii=False), flush=True)
    elif not args.report and len(engines) > 1:  # one process per engine: RSS and caches of one engine only
        for engine in engines:
            extra = ["--workers", str(args.workers)] if args.workers is not None else []
            extra += ["--keep"] if args.keep else []
            command = [sys.executable, "-m", "benchmarks.scale", "--count", str(args.count), "--engines", engine]
            subprocess.run([*command, *extra], check=True, cwd=ROOT)  # noqa: S603 - our own module
    elif not args.report:
        run = run_engine(engines[0], args.count, workers=args.workers, keep=args.keep, replicas=args.replicate)
        result = {"machine": machine(), **run}
        path = RESULTS / f"scale-{engines[0]}-{args.count}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print(json.dumps(result, ensure_ascii=False), flush=True)
    if args.report:
        # smoke runs (10,000) are not results
        write_report([p for p in RESULTS.glob("scale-*.json") if json.loads(p.read_text())["count"] >= 100_000])


if __name__ == "__main__":
    main()
