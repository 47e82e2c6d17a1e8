"""Module-level stages for the queue tests, importable by a qcluster worker."""

from __future__ import annotations

import os
import time

from apps.boot.errors import StageError
from apps.boot.registry import StageRegistry

chain = StageRegistry()


@chain.stage("prepare", priority=10)
def prepare(ctx):
    """Run on the serving process's thread, first."""
    time.sleep(0.2)
    return f"prepared in {os.getpid()}"


@chain.stage("q.work", depends_on=["prepare"], executor="queue", timeout=20)
def work(ctx):
    """Run in a qcluster worker."""
    time.sleep(0.2)
    return f"worked in {os.getpid()}"


@chain.stage("after", depends_on=["q.work"])
def after(ctx):
    """Run on the serving process's thread, after the queue stage."""
    return f"after in {os.getpid()}"


failing = StageRegistry()


@failing.stage("q.fails", executor="queue", timeout=20)
def fails(ctx):
    """Fail in the worker."""
    raise StageError("broken on purpose: nothing to fix")


@failing.stage("needs_fails", depends_on=["q.fails"])
def needs_fails(ctx):
    """Never runs: its dependency fails."""
    return "should not run"


hanging = StageRegistry()


@hanging.stage("q.hangs", executor="queue", timeout=1)
def hangs(ctx):
    """Outlive django-q2's timeout, which stops the worker."""
    time.sleep(30)
