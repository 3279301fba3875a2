-- A job's history across a stream's releases (`/jobs/{name}?stream=`) looks gates up by job.
create index gates_by_job on gates (stream, name, release);
