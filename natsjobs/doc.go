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
// On one machine, Embedded runs the server inside the process with no
// listening socket:
//
//	ns, nc, err := natsjobs.Embedded(ctx, "")
//	js, err := jetstream.New(nc)
//	res, err := natsjobs.Submit(ctx, js, natsjobs.SubmitOptions{Files: files})
//	go natsjobs.Worker{Shard: shard}.Run(ctx, js)
//	partials, err := natsjobs.Collect(ctx, js, res.Job, 0)
package natsjobs
