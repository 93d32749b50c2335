// Package natsjobs spreads the analysis of many capture files over
// machines with NATS JetStream: submit queues one job per file, workers
// turn each file into an encoded partial, and collect waits for all of a
// job's partials. It moves bytes only; what a partial is, and how partials
// merge, is the caller's (reconpcap uses detectors.Partial).
//
// What lives in JetStream:
//
//   - the work-queue stream RECONPCAP_JOBS, subjects jobs.>: one message
//     per file on jobs.SENSOR (the sensor or node where the file lies),
//     with a message ID from the job and the file's absolute path, size and
//     modification time, so the same file submitted twice is queued once;
//   - the key-value bucket RECONPCAP_STATE: JOB.files.ID (the job's file
//     list, written before the message, so a merge knows what to wait for
//     even when submit runs once per rotated file), JOB.done.ID and
//     JOB.failed.ID (with the error);
//   - the object store RECONPCAP_PARTIALS: the partial of file ID of job
//     JOB, as object JOB/ID.
//
// A worker holds one job at a time on a durable pull consumer shared by
// the workers of its subject, reports progress while its ShardFunc runs,
// stores the partial, then the done-marker, then acknowledges. A worker
// that dies loses its job to another after AckWait; a file that fails
// MaxDeliver times is marked failed, and Collect names it. A file whose
// partial is stored is never computed again.
//
// A deployment of 20 sensors: three NATS servers with JetStream (one
// static binary each, clustered, replicas 3), a worker on each sensor
// taking the jobs of its own subject, so a file is read where it lies,
// and tcpdump's post-rotate hook submitting each finished file:
//
//	sensor-01 .. sensor-20                      NATS cluster (R3)
//	+----------------------------------+        +------------------------+
//	| tcpdump -G 300 -w /pcap/%s.pcap  |        | nats-1  nats-2  nats-3 |
//	|   -z /usr/local/bin/pcap-done    |------->|  RECONPCAP_JOBS        |
//	| reconpcap worker --nats URL      | submit |  RECONPCAP_STATE (KV)  |
//	|   --subject jobs.sensor-NN       |<-------|  RECONPCAP_PARTIALS    |
//	|   --root /pcap                   | jobs   +------------------------+
//	+----------------------------------+                   ^
//	                                                       | merge
//	analyst: reconpcap merge --nats URL --job 2026-12-07 --format json
//
// tcpdump runs the -z program with the finished file as its one
// argument; pcap-done is two lines:
//
//	#!/bin/sh
//	exec reconpcap submit --nats URL --job "$(date -u +%F)" --subject jobs.sensor-NN "$1"
//
// The job ID is chosen by the hook (here the day), so every file of the
// day is one job, and a scan that spans two rotated files is one finding
// once merged. Restrict publishing on jobs.> to the submitters (NATS
// accounts and permissions), or give workers --root: a job is a path the
// worker opens.
//
// On one machine, Embedded runs the server inside the process with no
// listening socket:
//
//	ns, nc, err := natsjobs.Embedded(ctx, "")
//	js, err := jetstream.New(nc)
//	res, err := natsjobs.Submit(ctx, js, natsjobs.SubmitOptions{Files: files})
//	go natsjobs.Worker{Shard: shard}.Run(ctx, js)
//	partials, err := natsjobs.Collect(ctx, js, res.Job, 0)
package natsjobs
