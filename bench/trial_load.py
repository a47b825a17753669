"""Trial-loop load: gunicorn on PostgreSQL, simulated volunteers on loopback, in one run.

1. floor: a bare Django view doing one indexed SELECT and one INSERT (bench/floor), saturated by
   --volunteers connections: the framework's requests per second on this machine and stack;
2. trial loop, saturated: --volunteers volunteers each GET next, POST response, with no pause;
3. trial loop, thinking: --volunteers volunteers who look at each trial for a uniform
   --think-min..--think-max seconds before answering, and fetch the next one as soon as the
   answer is acknowledged (one pause per cycle, as on the volunteer page).

Each phase runs --warmup seconds unmeasured, then --duration seconds measured. The bench makes a
throwaway PostgreSQL database (dropped at the end), bulk-creates an image pool, starts its
participants through the API before the timed phases, serves everything from one gunicorn
(product settings plus the floor's URL: bench/floor/settings.py) and drives it from asyncio with
one HTTP/1.1 connection per volunteer, so the load costs little of the shared CPU.

    .venv/bin/python bench/trial_load.py [--workers 2] [--worker-class sync|gthread]

Afterwards it checks the database: every acknowledged answer stored exactly once, nothing stored
that was not acknowledged, no image twice for a participant, and the same SQL queries per cycle
before and after the load. Targets (DESIGN §5): saturated cycles/s >= 50% of the floor's req/s;
with think time, p95 < 100 ms per request. Exits 1 when a target or a check fails.
"""

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMAGE_SIZE = 256
CHOICES = ("real", "fake")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class HttpConnection:
    """One HTTP/1.1 connection, kept alive while the server allows it (gunicorn's sync workers
    close after every response, gthread keeps it), reopened when needed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        message = head.encode() + body
        reused = self.writer is not None
        try:
            return await self._exchange(message)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self.close()
            # A kept-alive connection the server closed while idle: nothing was answered, so
            # sending again is safe (and answers are idempotent anyway). Anything else is a fault.
            if not reused or getattr(exc, "partial", b""):
                raise
            return await self._exchange(message)

    async def _exchange(self, message: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(message)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
        body = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection") == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Phase:
    """What one phase measured; only requests that finish inside [start, end] count."""

    name: str
    start: float
    end: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    cycles: int = 0
    ran_out: int = 0  # volunteers who finished all their trials before the end
    cpu: dict[str, float] = field(default_factory=dict)

    def record(self, kind: str, started: float, status: int) -> bool:
        finished = time.perf_counter()
        if status >= 400:
            self.errors[kind, status] += 1
        inside = self.start <= finished <= self.end
        if inside:
            self.latencies.setdefault(kind, []).append(finished - started)
        return inside

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def all_latencies(self) -> list[float]:
        return [latency for values in self.latencies.values() for latency in values]


@dataclass
class Acks:
    """The answers the server acknowledged, by trial uuid, over the whole run."""

    statuses: dict[str, list[int]] = field(default_factory=dict)

    def add(self, trial: str, status: int) -> None:
        self.statuses.setdefault(trial, []).append(status)


async def timed(
    connection: HttpConnection, phase: Phase, kind: str, method: str, path: str, body: bytes = b""
) -> tuple[int, bytes, bool]:
    started = time.perf_counter()
    status, payload = await connection.request(method, path, body)
    return status, payload, phase.record(kind, started, status)


async def volunteer(
    port: int, token: str, phase: Phase, acks: Acks, think: tuple[float, float] | None, seed: int
) -> None:
    """next → (look at the image) → response, until the phase ends or the trials run out."""
    rng = random.Random(seed)
    connection = HttpConnection(port)
    if think:
        await asyncio.sleep(rng.uniform(0, think[1]))  # volunteers arrive spread out, not at once
    while time.perf_counter() < phase.end:
        status, body, _ = await timed(
            connection, phase, "next", "GET", f"/api/v1/participants/{token}/next"
        )
        if status != 200:
            break
        trial = json.loads(body)
        if trial.get("done"):
            phase.ran_out += 1
            break
        if think:
            await asyncio.sleep(rng.uniform(*think))
            if time.perf_counter() >= phase.end:
                break
        answer = {
            "participant": token,
            "choice": rng.choice(CHOICES),
            "rt_ms": rng.randint(300, 3000),
        }
        status, _, inside = await timed(
            connection,
            phase,
            "response",
            "POST",
            f"/api/v1/trials/{trial['trial']}/response",
            json.dumps(answer).encode(),
        )
        if status not in (200, 201):
            break
        acks.add(trial["trial"], status)
        phase.cycles += inside
    connection.close()


async def floor_client(port: int, token: str, phase: Phase) -> None:
    connection = HttpConnection(port)
    while time.perf_counter() < phase.end:
        await timed(connection, phase, "floor", "GET", f"/bench/floor/{token}")
    connection.close()


def cpu_snapshot(server_pid: int, database: str) -> dict:
    """CPU seconds so far of this process (the load), of gunicorn's and this database's Postgres
    processes (by pid: backends come and go with CONN_MAX_AGE), and of the whole machine (the
    rest is other people's work on the shared cores)."""
    web: dict[int, float] = {}
    db: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended meanwhile
        pid, seconds = int(entry.name), (int(stat[11]) + int(stat[12])) / CLK_TCK
        if server_pid in (pid, int(stat[1])):
            web[pid] = seconds
        elif cmdline.startswith(b"postgres:") and f" {database} ".encode() in cmdline:
            db[pid] = seconds
    machine = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(machine) - machine[3] - machine[4]) / CLK_TCK  # all but idle and iowait
    return {
        "load": time.process_time(),
        "web": web,
        "db": db,
        "machine": busy,
        "iowait": machine[4] / CLK_TCK,  # idle while disk writes (commit fsyncs) are pending
    }


async def measure_cpu(phase: Phase, server_pid: int, database: str) -> None:
    """Cores used over the phase's window, by whom. Sampled every half second so that a Postgres
    backend closed in the window (CONN_MAX_AGE) still counts up to its last sample."""
    await asyncio.sleep(phase.start - time.perf_counter())
    first = last = cpu_snapshot(server_pid, database)
    seen = {key: dict(first[key]) for key in ("web", "db")}
    while time.perf_counter() < phase.end:
        await asyncio.sleep(min(0.5, max(phase.end - time.perf_counter(), 0)))
        last = cpu_snapshot(server_pid, database)
        for key in seen:
            seen[key].update(last[key])
    for key, latest in seen.items():
        used = sum(seconds - first[key].get(pid, 0.0) for pid, seconds in latest.items())
        phase.cpu[key] = used / phase.seconds
    for key in ("load", "machine", "iowait"):
        phase.cpu[key] = (last[key] - first[key]) / phase.seconds


def run_phase(name: str, args: argparse.Namespace, server: subprocess.Popen, clients) -> Phase:
    """Runs the coroutines `clients(phase)` makes, with the CPU sampled over the window."""
    start = time.perf_counter() + args.warmup
    phase = Phase(name, start, start + args.duration)

    async def gather() -> None:
        await asyncio.gather(measure_cpu(phase, server.pid, args.db_name), *clients(phase))

    asyncio.run(gather())
    return phase


async def start_participants(port: int, slug: str, count: int) -> list[str]:
    """Through the API, as volunteers do: a few at a time (starts queue on a study lock)."""
    tokens: list[str] = []

    async def starter() -> None:
        connection = HttpConnection(port)
        while len(tokens) < count:
            status, body = await connection.request(
                "POST", f"/api/v1/studies/{slug}/participants", b'{"consent": true}'
            )
            if status != 201:
                raise RuntimeError(f"participant start: HTTP {status} {body[:200]!r}")
            tokens.append(json.loads(body)["participant"])
        connection.close()

    await asyncio.gather(*(starter() for _ in range(4)))
    return tokens[:count]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "studyapp.wsgi:application",
        f"--workers={args.workers}",
        f"--worker-class={args.worker_class}",
        f"--bind=127.0.0.1:{port}",
        "--backlog=2048",  # room for every volunteer's connection while sync workers are busy
    ]
    if args.worker_class == "gthread":
        command.append(f"--threads={args.threads}")
    server = subprocess.Popen(command, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            # Any answer will do: an unknown participant is a clean 404.
            probe = HttpConnection(port).request("GET", f"/api/v1/participants/{uuid.uuid4()}/next")
            asyncio.run(probe)
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.2)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def configure_django(database_url: str, var_dir: Path) -> None:
    """Environment for this process and gunicorn alike."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.floor.settings",
        DATABASE_URL=database_url,
        BEHOLDER_VAR_DIR=str(var_dir),
        BEHOLDER_HTTPS="false",
        DEBUG="false",
        SECRET_KEY="bench-trial-load-" + uuid.uuid4().hex,
        ALLOWED_HOSTS="127.0.0.1,testserver",  # testserver: the in-process query probe
        PARTICIPANT_START_RATE="1000000/minute",  # every volunteer starts from one address
    )
    import django

    django.setup()


def build_study(slug: str, dataset, trials: int):
    from studyapp.services.studies import study_create

    return study_create(
        slug=slug,
        dataset=dataset,
        trials_per_participant=trials,
        display_sizes=[IMAGE_SIZE],
        practice_trials=0,
        attention_checks=0,
        live=True,
    )


def build_pool(n_images: int):
    """Image and variant rows only: the trial loop never opens the files."""
    from studyapp.models import Dataset, Image, ImageVariant

    dataset = Dataset.objects.create(name="bench-trial-load")
    images = Image.objects.bulk_create(
        Image(
            dataset=dataset,
            label=CHOICES[i % 2],
            split="test",
            sha256=f"{i:064x}",
            width=512,
            height=512,
            format="JPEG",
            bytes=1,
            original=f"originals/bench-{i}.jpg",
        )
        for i in range(n_images)
    )
    ImageVariant.objects.bulk_create(
        ImageVariant(
            image=image,
            size=IMAGE_SIZE,
            file=f"v/bench-{image.pk}.jpg",
            width=IMAGE_SIZE,
            height=IMAGE_SIZE,
            bytes=1,
        )
        for image in images
    )
    return dataset


def cycle_queries(token: str, acks: Acks) -> int:
    """SQL queries of one next + response cycle, counted in-process on the same database, less
    the answer's BEGIN and COMMIT."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    with CaptureQueriesContext(connection) as queries:
        trial = client.get(f"/api/v1/participants/{token}/next").json()["trial"]
        answer = {"participant": token, "choice": "real", "rt_ms": 700}
        response = client.post(
            f"/api/v1/trials/{trial}/response", answer, content_type="application/json"
        )
    acks.add(trial, response.status_code)
    assert response.status_code == 201, response.content
    return sum(query["sql"] not in ("BEGIN", "COMMIT") for query in queries.captured_queries)


def check_database(slugs: list[str], acks: Acks) -> list[tuple[str, int, bool]]:
    """(what, how many, ok) for each invariant of the stored answers."""
    from django.db.models import Count, F

    from studyapp.models import Participant, Response, Trial

    responses = Response.objects.filter(trial__participant__study__slug__in=slugs)
    stored = Counter(str(trial) for trial in responses.values_list("trial__uuid", flat=True))
    n_stored = sum(stored.values())
    statuses = Counter(status for values in acks.statuses.values() for status in values)
    trials = Trial.objects.filter(participant__study__slug__in=slugs)
    twice = trials.values("participant", "image").annotate(n=Count("id")).filter(n__gt=1)
    counters = Participant.objects.filter(study__slug__in=slugs).annotate(
        answered=Count("trials__response")
    )
    must_be_zero = {
        "acknowledged but not stored (lost)": len(set(acks.statuses) - set(stored)),
        "stored but never acknowledged": len(set(stored) - set(acks.statuses)),
        "trials with more than one response": sum(n > 1 for n in stored.values()),
        "trials created twice (two 201s)": sum(
            values.count(201) > 1 for values in acks.statuses.values()
        ),
        "images shown twice to one participant": twice.count(),
        "participants whose next_index != answers": counters.exclude(
            answered=F("next_index")
        ).count(),
    }
    return [
        ("answers acknowledged 201 (created)", statuses[201], True),
        ("answers acknowledged 200 (repeat)", statuses[200], True),
        ("responses stored (== 201s)", n_stored, n_stored == statuses[201]),
        *((what, n, n == 0) for what, n in must_be_zero.items()),
    ]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def report_phases(floor: Phase, saturated: Phase, thinking: Phase, args) -> list[bool]:
    floor_rps = len(floor.all_latencies()) / floor.seconds
    cycles = saturated.cycles / saturated.seconds
    ratio = cycles / floor_rps
    p95 = percentile(thinking.all_latencies(), 95)
    verdicts = [ratio >= 0.5, p95 < 100]
    rows = [
        (floor, "floor (SELECT + INSERT)", f"{floor_rps:,.0f} req/s", ""),
        (saturated, "trial loop, saturated", f"{cycles:,.0f} cyc/s",
         f"cyc/floor {ratio:.2f} >= 0.50 {_verdict(verdicts[0])}"),
        (thinking, f"trial loop, think {args.think_min:g}-{args.think_max:g} s",
         f"{thinking.cycles / thinking.seconds:,.0f} cyc/s",
         f"p95 {p95:.1f} < 100 ms {_verdict(verdicts[1])}"),
    ]  # fmt: skip
    lines = [
        f"{'phase':<30}{'rate':>14}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'errors':>7}  {'cores load/web/db/other/io':<28}target"
    ]
    for phase, name, rate, target in rows:
        cpu = phase.cpu
        other = max(cpu["machine"] - cpu["load"] - cpu["web"] - cpu["db"], 0.0)
        shares = (cpu["load"], cpu["web"], cpu["db"], other, cpu["iowait"])
        tail = f"{phase.errors.total():>7}  {'/'.join(f'{x:.2f}' for x in shares):<28}{target}"
        lines.append(_row(name, rate, phase.all_latencies(), phase.seconds, tail))
        if phase is not floor:
            for kind in ("next", "response"):
                lines.append(
                    _row(f"  {kind}", "", phase.latencies.get(kind, []), phase.seconds, "")
                )
    lines.insert(1, "-" * max(map(len, lines)))
    print("\n" + "\n".join(lines))
    print(
        "cores: CPU of load = this process, web = gunicorn, db = this database's Postgres "
        "backends, other = the rest of the machine; io = idle waiting for the disk"
    )
    return verdicts


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _row(name: str, rate: str, latencies: list[float], seconds: float, tail: str) -> str:
    figures = "".join(f"{percentile(latencies, q):>8.1f}" for q in (50, 95, 99))
    return f"{name:<30}{rate:>14}{len(latencies) / seconds:>7,.0f}{figures}{tail}"


def prepare(args: argparse.Namespace) -> None:
    """Schema, image pool and the two studies. The think study gets enough trials that nobody
    finishes within its phase; the saturated one --trials."""
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)  # run_syncdb: the floor's own table
    dataset = build_pool(args.images)
    build_study("bench-saturated", dataset, args.trials)
    build_study("bench-think", dataset, math.ceil((args.warmup + args.duration) / args.think_min))


def load(args: argparse.Namespace, acks: Acks) -> tuple[list[Phase], tuple[int, int]]:
    """Starts gunicorn and the participants, runs the three phases; returns them and the queries
    of one cycle before and after, counted on a participant kept out of the load."""
    from django.db import connection

    port = free_port()
    server = start_server(args, port, args.var_dir / "gunicorn.log")
    try:
        started = time.perf_counter()
        tokens = asyncio.run(start_participants(port, "bench-saturated", args.volunteers + 1))
        think_tokens = asyncio.run(start_participants(port, "bench-think", args.volunteers))
        threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
        print(
            f"gunicorn {args.worker_class}, {args.workers} workers{threads}; PostgreSQL "
            f"{connection.pg_version // 10000}; {args.images} images; "
            f"{len(tokens) + len(think_tokens)} participants started through the API in "
            f"{time.perf_counter() - started:.1f} s"
        )
        probe = tokens.pop()
        queries_before = cycle_queries(probe, acks)
        think = (args.think_min, args.think_max)
        phases = [
            run_phase("floor", args, server, lambda phase: (
                floor_client(port, token, phase) for token in tokens
            )),
            run_phase("saturated", args, server, lambda phase: (
                volunteer(port, token, phase, acks, None, seed)
                for seed, token in enumerate(tokens)
            )),
            run_phase("think", args, server, lambda phase: (
                volunteer(port, token, phase, acks, think, seed)
                for seed, token in enumerate(think_tokens)
            )),
        ]  # fmt: skip
    finally:
        stop_server(server)
    return phases, (queries_before, cycle_queries(probe, acks))


def run(args: argparse.Namespace) -> bool:
    """The whole bench; True when every target and check passes."""
    from studyapp.models import Response

    prepare(args)
    acks = Acks()
    phases, (queries_before, queries_after) = load(args, acks)
    verdicts = report_phases(*phases, args)
    for phase in phases:
        if phase.ran_out:
            print(
                f"note: {phase.ran_out} volunteers ran out of trials ({phase.name}): raise --trials"
            )
        for (kind, status), n in sorted(phase.errors.items()):
            print(f"errors in {phase.name}: {n} x HTTP {status} on {kind}")
    constant = queries_before == queries_after
    print(
        f"\nSQL queries per cycle (next + response, in-process, BEGIN/COMMIT not counted): "
        f"{queries_before} before the load, {queries_after} after "
        f"({Response.objects.count():,} responses stored): "
        f"{'constant' if constant else 'NOT constant'} {_verdict(constant)}"
    )
    print("\ndatabase check")
    for what, n, ok in check_database(["bench-saturated", "bench-think"], acks):
        print(f"  {what:<44}{n:>9,}  {_verdict(ok)}")
        verdicts.append(ok)
    verdicts += [constant, sum(phase.errors.total() for phase in phases) == 0]
    print(f"\n{_verdict(all(verdicts))}: {sum(verdicts)}/{len(verdicts)} checks pass")
    return all(verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--volunteers", type=int, default=200, help="concurrent volunteers")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--worker-class",
        choices=["sync", "gthread"],
        default="sync",
        help="sync: as in production (Dockerfile) and DESIGN's reference floor",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds a phase")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds a phase")
    parser.add_argument("--think-min", type=float, default=0.5, help="think time, seconds")
    parser.add_argument("--think-max", type=float, default=1.5, help="think time, seconds")
    parser.add_argument(
        "--trials", type=int, default=100, help="trials per volunteer in the saturated phase"
    )
    parser.add_argument("--images", type=int, default=400, help="image pool, half real")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432",
        help="server for the throwaway database",
    )
    args = parser.parse_args()
    if args.images < args.trials:
        parser.error("--images must be at least --trials: no image twice for a participant")

    import psycopg

    args.db_name = f"beholder_trial_load_{os.getpid()}"
    args.var_dir = Path(tempfile.mkdtemp(prefix="beholder-bench-"))
    (args.var_dir / "static").mkdir()  # STATIC_ROOT: whitenoise warns in every worker without it
    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {args.db_name}")
    try:
        configure_django(f"{args.postgres}/{args.db_name}", args.var_dir)
        ok = run(args)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {args.db_name} WITH (FORCE)")
        shutil.rmtree(args.var_dir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
