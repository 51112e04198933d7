"""The render farm: jobs on a JetStream work-queue stream, any number of workers, status in a KV bucket.

- Stream ``<prefix>`` (default ``WNM_RENDER``), subject ``<subject>`` (default ``wnm.render.jobs``), work-queue
  retention: each job is delivered to one worker of the durable pull consumer ``workers`` at a time. Job ids are
  scoped to their project: the message id is :func:`~renderers.job.job_key` (project and job id), so a retried
  submit is queued once and the same job id in another project is another job.
- A worker acks only after the pack is stored; while rendering it sends in-progress acks (which hold the job)
  and writes progress into the KV bucket. A worker killed mid-job stops sending them: after ``ack_wait`` the
  job is delivered to another worker, up to ``max_deliver`` times. Packs are written atomically and the store is
  first-writer-wins, so a redone job never leaves two outputs; the redo renders the same bytes anyway.
- Status (KV ``<prefix>_STATUS``, key = ``job_key(project, job_id)``): ``{job_id, project, shot, state:
  queued|running|done|failed, progress, frames_done, frames_total, worker, attempt, error?, seq?, state_hash?,
  pack_sha256?}``; key ``id/<job_id>`` lists the projects holding a job of that id (for ``GET /v1/renders/{id}``).
- Packs are stored under :func:`~renderers.job.pack_name` (``<project>/<job_id>``).

A bad job (:class:`RenderError`) fails at once (``term``); any other error is retried with a delay and fails
for good on the last delivery.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Callable

from .job import (RenderError, RenderJob, check_job_id, check_request, decode_job, encode_job, job_key, new_job_id,
                  pack_name, plan)
from .pack import PackExists

__all__ = ["FarmConfig", "RenderFarm", "Worker", "UnknownJob"]

log = logging.getLogger(__name__)

LoadWorld = Callable[[str, str, "int | None"], tuple]


class UnknownJob(KeyError):
    pass


@dataclass(frozen=True)
class FarmConfig:
    prefix: str = "WNM_RENDER"
    subject: str = ""             # default: wnm.render.jobs, or wnm.render.<prefix>.jobs for another prefix
    ack_wait_s: float = 60.0
    heartbeat_s: float = 2.0
    max_deliver: int = 5

    def __post_init__(self):
        if not self.subject:
            subject = "wnm.render.jobs" if self.prefix == "WNM_RENDER" else f"wnm.render.{self.prefix}.jobs"
            object.__setattr__(self, "subject", subject)

    @property
    def stream(self) -> str:
        return self.prefix

    @property
    def status_bucket(self) -> str:
        return f"{self.prefix}_STATUS"

    @property
    def object_bucket(self) -> str:
        return f"{self.prefix}_PACKS"


class RenderFarm:
    """A connection to the farm's stream and status bucket: submit jobs, read status, fetch packs."""

    def __init__(self, nc, js, kv, config: FarmConfig, store, load_world: LoadWorld | None = None):
        self.nc, self.js, self.kv, self.config, self.store = nc, js, kv, config, store
        self.load_world = load_world

    @classmethod
    async def connect(cls, nats_url: str, *, config: FarmConfig = FarmConfig(), root=None,
                      object_store: bool = False, load_world: LoadWorld | None = None) -> "RenderFarm":
        """Connect and make sure the stream and buckets exist. Packs go to the directory ``root`` or, with
        ``object_store``, to the bucket ``<prefix>_PACKS``."""
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import BadRequestError

        from .store import DirStore, ObjectStore

        nc = await nats.connect(nats_url, name="wnm-render")
        js = nc.jetstream()
        sc = StreamConfig(name=config.stream, subjects=[config.subject], retention=RetentionPolicy.WORK_QUEUE,
                          storage=StorageType.FILE, duplicate_window=600.0)
        try:
            await js.add_stream(sc)
        except BadRequestError:
            await js.update_stream(sc)
        cc = ConsumerConfig(durable_name="workers", ack_policy=AckPolicy.EXPLICIT, ack_wait=config.ack_wait_s,
                            max_deliver=config.max_deliver, filter_subject=config.subject)
        try:
            await js.add_consumer(config.stream, cc)
        except BadRequestError:
            pass  # exists with the same name (a config change needs the consumer deleted first)
        try:
            kv = await js.key_value(config.status_bucket)
        except Exception:
            kv = await js.create_key_value(bucket=config.status_bucket, history=1)
        if object_store:
            store = ObjectStore(js, config.object_bucket)
        else:
            if root is None:
                raise ValueError("give a pack directory (root) or use the object store")
            store = DirStore(root)
        return cls(nc, js, kv, config, store, load_world)

    async def close(self):
        try:
            await self.nc.drain()
        except Exception:  # noqa: BLE001 - the server may already be gone; closing must not fail
            try:
                await self.nc.close()
            except Exception:  # noqa: BLE001
                pass

    # -------------------------------------------------------------- status

    async def _put_status(self, project: str, job_id: str, **fields):
        rec = await self.status(project, job_id, missing_ok=True) or {"job_id": job_id, "project": project}
        rec.update(fields, updated=time.time())
        await self.kv.put(job_key(project, job_id), json.dumps(rec, sort_keys=True).encode())
        return rec

    async def status(self, project: str, job_id: str, missing_ok: bool = False) -> dict | None:
        """The status of ``project``'s job ``job_id``; UnknownJob (or None with ``missing_ok``) when there is none
        (also for an id that could not name a job)."""
        from nats.js.errors import InvalidKeyError, KeyNotFoundError

        try:
            check_job_id(job_id)
            entry = await self.kv.get(job_key(project, job_id))
        except (KeyNotFoundError, InvalidKeyError, RenderError):
            if missing_ok:
                return None
            raise UnknownJob(job_id) from None
        return json.loads(entry.value)

    async def projects_of(self, job_id: str) -> list[str]:
        """The projects holding a job with this id (usually one; the same id may be chosen in several)."""
        from nats.js.errors import KeyNotFoundError

        try:
            check_job_id(job_id)
            entry = await self.kv.get(_index_key(job_id))
        except (KeyNotFoundError, RenderError):
            return []
        return json.loads(entry.value)

    async def _index(self, project: str, job_id: str) -> None:
        from nats.js.errors import KeyNotFoundError

        key = _index_key(job_id)
        for _ in range(20):  # compare-and-set: concurrent submits in several projects all land
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:
                entry = None
            projects = [] if entry is None else json.loads(entry.value)
            if project in projects:
                return
            value = json.dumps(sorted([*projects, project])).encode()
            try:
                if entry is None:
                    await self.kv.create(key, value)
                else:
                    await self.kv.update(key, value, last=entry.revision)
                return
            except Exception as e:  # noqa: BLE001 - lost the race to another submit: read again
                if not _lost_race(e):
                    raise
        raise RuntimeError(f"could not record render job id {job_id!r}: too many concurrent submits")

    # -------------------------------------------------------------- submit

    async def submit(self, job: RenderJob) -> dict:
        """Queue a job. Checks it (and, with a world loader, against the shot: frames, camera) first; raises
        RenderError for a bad one. Returns its status; a job id already used in the job's project returns that
        job's status (a retried submit)."""
        check_request(job)
        seq = job.seq
        if self.load_world is not None:
            world, seq, _ = await asyncio.to_thread(self.load_world, job.project, job.shot, job.seq)
            plan(job, world)
        job_id = job.job_id or new_job_id()
        import msgspec

        job = msgspec.structs.replace(job, job_id=job_id, seq=seq)
        existing = await self.status(job.project, job_id, missing_ok=True)
        if existing is not None:
            return existing
        await self._index(job.project, job_id)
        rec = await self._put_status(job.project, job_id, state="queued", progress=0.0, frames_done=0,
                                     frames_total=None, shot=job.shot, seq=seq, preset=job.preset)
        await self.js.publish(self.config.subject, encode_job(job),
                              headers={"Nats-Msg-Id": job_key(job.project, job_id)})
        return rec

    async def wait(self, project: str, job_id: str, timeout: float = 600.0, on_status=None) -> dict:
        """Poll until the job is done or failed; ``on_status`` sees every status read."""
        deadline = time.monotonic() + timeout
        while True:
            rec = await self.status(project, job_id)
            if on_status is not None:
                on_status(rec)
            if rec["state"] in ("done", "failed"):
                return rec
            if time.monotonic() > deadline:
                raise TimeoutError(f"render job {job_id} still {rec['state']} after {timeout:g} s")
            await asyncio.sleep(0.2)

    async def manifest(self, project: str, job_id: str) -> dict | None:
        return await self.store.manifest(pack_name(project, check_job_id(job_id)))

    async def pack_tar(self, project: str, job_id: str) -> bytes | None:
        return await self.store.tar(pack_name(project, check_job_id(job_id)))


def _index_key(job_id: str) -> str:
    return "id/" + job_id.replace(".", "=")


def _lost_race(e: BaseException) -> bool:
    from nats.js.errors import APIError, KeyWrongLastSequenceError

    return isinstance(e, KeyWrongLastSequenceError) or (isinstance(e, APIError) and e.err_code == 10071)


class Worker:
    """Takes jobs from the farm one at a time and renders them in one thread (one GL context)."""

    def __init__(self, farm: RenderFarm, load_world: LoadWorld, *, egl: bool = False, backend: str = "gl",
                 name: str | None = None,
                 sampler=None):
        self.farm, self.load_world, self.egl, self.sampler = farm, load_world, egl, sampler
        self.backend = backend
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="wnm-render")
        self.done = 0

    async def run(self, stop: asyncio.Event | None = None, max_jobs: int | None = None):
        """Process jobs until ``stop`` is set (or ``max_jobs`` jobs are finished)."""
        import nats.errors

        cfg = self.farm.config
        sub = await self.farm.js.pull_subscribe_bind("workers", stream=cfg.stream)
        stop = stop or asyncio.Event()
        while not stop.is_set() and (max_jobs is None or self.done < max_jobs):
            try:
                msgs = await sub.fetch(1, timeout=1.0)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                continue
            for msg in msgs:
                await self.handle(msg)
                self.done += 1
        await sub.unsubscribe()

    async def handle(self, msg):
        farm, cfg = self.farm, self.farm.config
        attempt = msg.metadata.num_delivered
        try:
            job = decode_job(msg.data)
        except RenderError as e:
            log.warning("dropping undecodable render job: %s", e)
            await msg.term()
            return
        project, job_id = job.project, job.job_id
        name = pack_name(project, job_id)
        if await farm.store.exists(name):  # a previous worker stored it but died before acking
            await farm._put_status(project, job_id, state="done", progress=1.0)
            await msg.ack()
            return
        await farm._put_status(project, job_id, state="running", worker=self.name, attempt=attempt, progress=0.0,
                               frames_done=0)
        loop = asyncio.get_running_loop()
        counts = {"done": 0, "total": None}

        def progress(done, total):
            counts["done"], counts["total"] = done, total

        async def heartbeat():
            while True:
                await asyncio.sleep(cfg.heartbeat_s)
                await msg.in_progress()
                total = counts["total"]
                await farm._put_status(project, job_id, frames_done=counts["done"], frames_total=total,
                                       progress=(counts["done"] / total) if total else 0.0)

        beat = asyncio.create_task(heartbeat())
        try:
            world, seq, state_hash = await asyncio.to_thread(self.load_world, job.project, job.shot, job.seq)
            manifest = await loop.run_in_executor(
                self._pool, lambda: farm.store.write(name, world, seq, state_hash, job, progress=progress,
                                                     egl=self.egl, sampler=self.sampler,
                                                     backend=self.backend))
            await farm.store.commit(name)
        except PackExists:
            manifest = await farm.store.manifest(name) or {}
        except RenderError as e:
            beat.cancel()
            await farm._put_status(project, job_id, state="failed", error=str(e))
            await msg.term()
            return
        except Exception as e:  # noqa: BLE001 — a worker logs, records and goes on
            beat.cancel()
            log.exception("render job %s failed (attempt %d)", job_id, attempt)
            last = attempt >= cfg.max_deliver
            await farm._put_status(project, job_id, state="failed" if last else "queued",
                                   error=f"{type(e).__name__}: {e}")
            if last:
                await msg.term()
            else:
                await msg.nak(delay=1.0)
            return
        finally:
            beat.cancel()
        await farm._put_status(project, job_id, state="done", progress=1.0, frames_done=manifest.get("frame_count"),
                               frames_total=manifest.get("frame_count"), seq=manifest.get("seq"),
                               state_hash=manifest.get("state_hash"), pack_sha256=manifest.get("pack_sha256"),
                               error=None)
        await msg.ack()
