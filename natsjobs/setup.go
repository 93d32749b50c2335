package natsjobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StoreOptions say how the stream and buckets are made the first time
// anyone (a submit, a worker or a merge) needs them. An existing stream or
// bucket is used as it is: an operator may have tuned it.
type StoreOptions struct {
	// Replicas is the copies JetStream keeps of every job, partial and
	// marker. 0 means min(3, the servers of the cluster the connection
	// knows), and 1 on a server that is not clustered.
	Replicas int
	// Duplicates is how long the stream remembers a message ID, so that
	// the same file submitted again within it is not queued twice. 0
	// means 24 hours. Past it, a worker still finds the file's partial
	// done and does not compute it again.
	Duplicates time.Duration
}

// maxJobMsg bounds one job message: a file's path and a few numbers.
const maxJobMsg = 16 << 10

// store is the stream and buckets one job needs.
type store struct {
	stream jetstream.Stream
	state  jetstream.KeyValue
	parts  jetstream.ObjectStore
}

// placementCodes are the errors of asking for more replicas than the
// cluster has servers: openStore then asks for fewer.
var placementCodes = []jetstream.ErrorCode{10005, 10023, 10074}

// openStore finds or makes the stream and buckets.
func openStore(ctx context.Context, js jetstream.JetStream, o StoreOptions) (*store, error) {
	dup := o.Duplicates
	if dup <= 0 {
		dup = 24 * time.Hour
	}
	replicas := o.Replicas
	auto := replicas <= 0
	if auto {
		replicas = autoReplicas(js)
	}
	for {
		st, err := retryEach(ctx, 2*apiTimeout, func(ctx context.Context) (*store, error) {
			return tryOpen(ctx, js, replicas, dup)
		})
		if err == nil {
			return st, nil
		}
		var api *jetstream.APIError
		if auto && replicas > 1 && errors.As(err, &api) && containsCode(placementCodes, api.ErrorCode) {
			replicas--
			continue
		}
		return nil, err
	}
}

func containsCode(codes []jetstream.ErrorCode, c jetstream.ErrorCode) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

// autoReplicas is min(3, servers known) on a clustered server: the
// connection's pool holds the URLs it was given and those the cluster
// gossiped, which is the cluster's size unless servers do not advertise.
func autoReplicas(js jetstream.JetStream) int {
	nc := js.Conn()
	if nc == nil || nc.ConnectedClusterName() == "" {
		return 1
	}
	return max(1, min(3, len(nc.Servers())))
}

func tryOpen(ctx context.Context, js jetstream.JetStream, replicas int, dup time.Duration) (*store, error) {
	stream, err := js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        StreamName,
			Description: "reconpcap shard jobs: one message per capture file",
			Subjects:    []string{SubjectPrefix + ">"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
			Duplicates:  dup,
			MaxMsgSize:  maxJobMsg,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // made meanwhile by another
			stream, err = js.Stream(ctx, StreamName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsjobs: stream %s: %w", StreamName, err)
	}
	state, err := js.KeyValue(ctx, StateBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		state, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      StateBucket,
			Description: "reconpcap jobs: file lists, done and failed markers",
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			state, err = js.KeyValue(ctx, StateBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsjobs: bucket %s: %w", StateBucket, err)
	}
	parts, err := js.ObjectStore(ctx, PartialsBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		parts, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      PartialsBucket,
			Description: "reconpcap partials: one object JOB/FILE-ID per capture file",
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
			Compression: true,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			parts, err = js.ObjectStore(ctx, PartialsBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsjobs: object store %s: %w", PartialsBucket, err)
	}
	return &store{stream: stream, state: state, parts: parts}, nil
}
