package natsjobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Forget removes what JetStream keeps of job once it is merged: the
// partials, then the file list and markers. The buckets keep no job for
// ever by themselves; without Forget they grow by a partial per file.
// Files of the job still queued are not removed (a worker that takes one
// later computes it again).
func Forget(ctx context.Context, js jetstream.JetStream, job string) error {
	if err := CheckJobID(job); err != nil {
		return err
	}
	st, err := openStore(ctx, js, StoreOptions{})
	if err != nil {
		return err
	}
	lister, err := st.state.ListKeysFiltered(ctx, job+".files.*")
	if err != nil {
		return fmt.Errorf("natsjobs: listing job %s: %w", job, err)
	}
	var ids []string
	for key := range lister.Keys() {
		if _, id, ok := splitKey(job, key); ok {
			ids = append(ids, id)
		}
	}
	// Partials first: a file list without partials is a job that cannot
	// be merged, never one that merges short.
	for _, id := range ids {
		if _, err := retry(ctx, func(ctx context.Context) (struct{}, error) {
			err := st.parts.Delete(ctx, objectName(job, id))
			if errors.Is(err, jetstream.ErrObjectNotFound) {
				err = nil
			}
			return struct{}{}, err
		}); err != nil {
			return fmt.Errorf("natsjobs: deleting the partial %s: %w", objectName(job, id), err)
		}
	}
	// The job's keys all go at once, markers included, by purging their
	// subjects from the bucket's stream.
	kvStream, err := js.Stream(ctx, "KV_"+StateBucket)
	if err != nil {
		return fmt.Errorf("natsjobs: bucket %s: %w", StateBucket, err)
	}
	if err := kvStream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+StateBucket+"."+job+".>")); err != nil {
		return fmt.Errorf("natsjobs: forgetting job %s: %w", job, err)
	}
	return nil
}
