"""`plixo jobs {list|pause|resume|run} [NAME] [--json]`: see and steer the periodic jobs."""

import json

from django.core.management.base import BaseCommand

from plixo.ops import services
from plixo.ops.jobs import UnknownJob, interval_label
from plixo.ops.management.commands._output import fail, human_time, job_dict

ACTIONS = ("list", "pause", "resume", "run")
CLI_ACTOR = "command line"


class Command(BaseCommand):
    help = (
        "List the periodic jobs, or pause, resume or run one. `list` shows each job's interval, "
        "paused flag, last run, status and next run. `pause NAME` stops the scheduler from "
        "enqueuing it (runs already queued are skipped); `resume NAME` starts it again; "
        "`run NAME` runs it now in this process and records the result (exit 1 if the job "
        "fails). --json prints one JSON object. Exit codes: 0 ok, 2 bad usage or unknown job, "
        "1 internal error."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", help="One of: " + ", ".join(ACTIONS) + ".")
        parser.add_argument("name", nargs="?", help="The job (for pause, resume and run).")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object."
        )

    def handle(self, *args, action: str, name: str | None, as_json: bool, **options):
        self.as_json = as_json
        if action not in ACTIONS:
            raise fail(
                self,
                f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.",
                as_json=as_json,
                returncode=2,
            )
        if action == "list":
            if name:
                raise fail(self, "`jobs list` takes no job name.", as_json=as_json, returncode=2)
            self._list()
            return
        if not name:
            raise fail(self, f"`jobs {action}` needs a job name.", as_json=as_json, returncode=2)
        services.jobs_sync()
        try:
            if action == "pause":
                job = services.job_pause(name=name, actor_label=CLI_ACTOR)
                self._report(job, f"Paused {job.name}.")
            elif action == "resume":
                job = services.job_resume(name=name, actor_label=CLI_ACTOR)
                self._report(job, f"Resumed {job.name}; next run {human_time(job.next_run_at)}.")
            else:
                self._run(name)
        except UnknownJob as exc:
            raise fail(self, str(exc), as_json=as_json, returncode=2) from exc

    def _list(self):
        jobs = services.jobs_sync()
        if self.as_json:
            self.stdout.write(json.dumps({"jobs": [job_dict(job) for job in jobs]}, sort_keys=True))
            return
        rows = [("NAME", "EVERY", "PAUSED", "LAST RUN", "STATUS", "NEXT RUN", "LAST RESULT")]
        for job in jobs:
            outcome = job.last_result
            if job.last_status == job.Status.ERROR:
                outcome = (job.last_error.strip().splitlines() or [""])[-1]
            rows.append(
                (
                    job.name,
                    interval_label(job.every_seconds),
                    "yes" if job.paused else "no",
                    human_time(job.last_run_at),
                    job.last_status,
                    "paused" if job.paused else human_time(job.next_run_at),
                    outcome[:60],
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())

    def _report(self, job, message: str):
        if self.as_json:
            self.stdout.write(json.dumps({"job": job_dict(job)}, sort_keys=True))
        else:
            self.stdout.write(message)

    def _run(self, name: str):
        run = services.job_execute(name=name)
        job = run.job
        if self.as_json:
            self.stdout.write(json.dumps({"ok": run.ok, "job": job_dict(job)}, sort_keys=True))
        elif run.ok:
            self.stdout.write(f"{job.name}: {job.last_result}")
        if not run.ok:
            last_line = (job.last_error.strip().splitlines() or ["unknown error"])[-1]
            # The JSON object above already went to stdout; the message goes to stderr.
            raise fail(self, f"{job.name} failed: {last_line}", as_json=False, returncode=1)
