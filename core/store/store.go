// Package store keeps everything Switchboard must not lose in one bbolt file:
// conversations, transcripts, the inbox of committed events, the outbox of
// pending deliveries, the set of seen event IDs, and dead letters.
//
// All writes go through one writer goroutine that drains a queue and commits
// whatever is waiting in a single fsync'd transaction (group commit). Under
// load many webhooks share one fsync; at rest a single write commits at once,
// without the fixed delay of bbolt.Batch.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout version this code reads and writes. Opening
// a database of an older version upgrades it (see migrations).
const SchemaVersion = 3

// Bucket names.
var (
	bucketMeta          = []byte("meta")
	bucketConversations = []byte("conversations")
	bucketConvRefs      = []byte("conv_refs")
	bucketMessages      = []byte("messages")
	bucketInbox         = []byte("inbox")
	bucketOutbox        = []byte("outbox")
	bucketSeen          = []byte("seen")
	// bucketSeenExpiry indexed the dedup entries by expiry until schema
	// 3, which reads their expiry from the entries (PurgeSeen).
	bucketSeenExpiry        = []byte("seen_expiry")
	bucketDeadLetters       = []byte("deadletters")
	bucketTransitions       = []byte("transitions")
	bucketDeskRefs          = []byte("desk_refs")
	bucketConvDesk          = []byte("conv_desk")
	bucketAPIKeys           = []byte("apikeys")
	bucketAPIKeyHashes      = []byte("apikey_hashes")
	bucketAudit             = []byte("audit")
	bucketPossiblyDelivered = []byte("possibly_delivered")
	bucketConvStates        = []byte("conv_states")
	bucketVisitorTokens     = []byte("visitor_tokens")
	bucketRatings           = []byte("ratings")
	bucketEvents            = []byte("events")
	// bucketEventConvSeq held the conversations' event counters until
	// schema 3, which keeps each beside its transcript (convSeqKey); an
	// upgraded database keeps it, only read (nextConversationSeq).
	bucketEventConvSeq     = []byte("event_conv_seq")
	bucketWebhooks         = []byte("webhooks")
	bucketWebhookAttempts  = []byte("webhook_attempts")
	bucketOAuthClients     = []byte("oauth_clients")
	bucketOAuthTokens      = []byte("oauth_tokens")
	bucketOAuthTokenExpiry = []byte("oauth_token_expiry")
	// Console accounts, their sessions and saved replies.
	bucketOperators          = []byte("operators")
	bucketOperatorEmails     = []byte("operator_emails")
	bucketOperatorSessions   = []byte("operator_sessions")
	bucketOperatorSessionsBy = []byte("operator_sessions_by")
	bucketCanned             = []byte("canned_replies")
	// Tickets and their index by conversation (tickets.go).
	bucketTickets     = []byte("tickets")
	bucketTicketConvs = []byte("ticket_convs")

	allBuckets = [][]byte{
		bucketMeta, bucketConversations, bucketConvRefs, bucketMessages, bucketInbox,
		bucketOutbox, bucketSeen, bucketDeadLetters, bucketTransitions,
		bucketDeskRefs, bucketConvDesk, bucketAPIKeys, bucketAPIKeyHashes, bucketAudit,
		bucketPossiblyDelivered, bucketConvStates, bucketVisitorTokens, bucketRatings,
		bucketEvents, bucketWebhooks, bucketWebhookAttempts,
		bucketOAuthClients, bucketOAuthTokens, bucketOAuthTokenExpiry,
		bucketOperators, bucketOperatorEmails, bucketOperatorSessions, bucketOperatorSessionsBy, bucketCanned,
		bucketTickets, bucketTicketConvs,
	}

	keySchemaVersion = []byte("schema_version")
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store is closed")

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned by Open when another process (normally a running
// daemon) holds the database file.
var ErrLocked = errors.New("the database is in use by another process")

// maxBatch bounds how many queued writes share one transaction, so one
// commit never grows without limit under a flood.
const maxBatch = 512

// lingerWorth is how many more writes a commit must expect within
// Options.CommitDelay, at the rate writes have been arriving, to wait for
// them.
const lingerWorth = 4

// Options tune a Store.
type Options struct {
	// SeenTTL is how long event IDs are remembered for deduplication.
	// Default 48h (platforms redeliver for up to a day).
	SeenTTL time.Duration
	// NoSync turns fsync off. Only benchmarks and tests that measure
	// something else may use it.
	NoSync bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// CommitDelay is how long a commit waits for more writes to share it,
	// and only under load: while writes arrive together (the last commit
	// carried more than one) and fast enough to bring lingerWorth more
	// within it. Each commit costs two fdatasyncs and rewrites the pages
	// its writes share, whatever it holds, so under load fewer, larger
	// commits spend less CPU per write; at a trickle nothing is held.
	// 0 commits at once.
	CommitDelay time.Duration
}

// Store is the durable state of the daemon.
type Store struct {
	db      *bolt.DB
	opts    Options
	ops     chan *writeOp
	stop    chan struct{}
	stopped chan struct{}
	closeMu sync.Once

	watchers *watchers
	inboxSig chan struct{}
	// inboxFeed is told about items just committed to the inbox.
	inboxFeed atomic.Pointer[func([]InboxItem)]
	// settle may handle a visitor's event in the commit recording it.
	settle atomic.Pointer[SettleFunc]
	// ev is the event log's state: its readers, the webhook subscriptions
	// and who is told about new deliveries.
	ev *eventState
	// tickets hands out ticket numbers.
	tickets ticketSeq
	// convs keeps decoded conversation records.
	convs *decodedCache[Conversation]
	// msgs keeps decoded transcript lines.
	msgs *decodedCache[Message]
	// seenFrom is the dedup entry the next PurgeSeen reads first (nil:
	// the first); seenMu keeps purges one at a time.
	seenMu      sync.Mutex
	seenFrom    []byte
	seenPerCall int
	// commits, writes and busy count the writer's work (CommitStats).
	commits, writes atomic.Uint64
	busy            atomic.Int64
}

// CommitStats is what the writer has done since Open.
type CommitStats struct {
	// Commits counts the transactions committed; Writes the queued writes
	// they carried (many share one under load).
	Commits, Writes uint64
	// Pages counts the database pages the commits wrote (tree and
	// freelist pages; the meta page each commit also writes is not
	// counted).
	Pages uint64
	// Busy is the time the writer spent on batches: running the writes,
	// committing them (fsync included) and the hooks after. Near all of
	// the wall time means the writer sets how fast events are taken in.
	Busy time.Duration
}

// CommitStats returns the writer's counters.
func (s *Store) CommitStats() CommitStats {
	st := s.db.Stats()
	return CommitStats{
		Commits: s.commits.Load(), Writes: s.writes.Load(),
		Pages: uint64(st.TxStats.GetPageCount()),
		Busy:  time.Duration(s.busy.Load()),
	}
}

type writeOp struct {
	fn   func(tx *Tx) error
	done chan error
}

// Tx is a write transaction handed to a queued write. Hooks registered with
// OnCommit run after the transaction is durable.
type Tx struct {
	*bolt.Tx
	hooks    []func()
	watchers *watchers
	st       *Store
	// ev is what the transaction did in the event log.
	ev txEvents
}

// OnCommit runs f after the transaction has been committed to disk.
func (tx *Tx) OnCommit(f func()) { tx.hooks = append(tx.hooks, f) }

// Open opens (creating if needed) the database at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.SeenTTL == 0 {
		opts.SeenTTL = 48 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir for %s: %w", path, err)
	}
	// The freelist is written with each commit (bbolt's default): without
	// it, opening the database walks every page to rebuild the list, which
	// with a million conversations costs seconds and maps the whole file
	// into memory.
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      2 * time.Second,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (is another switchboard running?)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{
		db:          db,
		opts:        opts,
		ops:         make(chan *writeOp, 4*maxBatch),
		stop:        make(chan struct{}),
		stopped:     make(chan struct{}),
		watchers:    newWatchers(),
		inboxSig:    make(chan struct{}, 1),
		ev:          newEventState(),
		convs:       newConvCache(),
		msgs:        newMsgCache(),
		seenPerCall: seenScanPerCall,
	}
	go s.writer()
	return s, nil
}

func initSchema(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	v := meta.Get(keySchemaVersion)
	if v == nil {
		if err := meta.Put(keySchemaVersion, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
	} else {
		have, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("unreadable schema version %q", v)
		}
		if have > SchemaVersion {
			return fmt.Errorf("database schema version %d is newer than this daemon supports (%d); upgrade switchboard", have, SchemaVersion)
		}
		if have < SchemaVersion {
			// Upgrades may look conversations up by state.
			if err := buildStateIndex(tx); err != nil {
				return err
			}
			if err := migrate(tx, have); err != nil {
				return err
			}
			if err := meta.Put(keySchemaVersion, []byte(strconv.Itoa(SchemaVersion))); err != nil {
				return err
			}
		}
	}
	return buildStateIndex(tx)
}

// Close stops the writer after the queued writes and closes the database.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.stop)
		<-s.stopped
		err = s.db.Close()
	})
	return err
}

// Update queues fn to run in a group-committed write transaction and waits
// until it is durable. fn may run more than once (when another write in the
// same batch fails, the batch is retried without it), so it must only touch
// the transaction and plain variables it resets on each run.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	select {
	case s.ops <- op:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write will happen; wait for its outcome even if ctx
	// ends, so the caller never reports failure for a committed write.
	return <-op.done
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*writeOp, 0, maxBatch)
	var arr arrivals
	for {
		var first *writeOp
		select {
		case first = <-s.ops:
		case <-s.stop:
			// Finish what was queued before Close.
			for {
				select {
				case op := <-s.ops:
					s.commit([]*writeOp{op})
				default:
					return
				}
			}
		}
		arr.observe(len(batch), time.Now())
		batch = s.drain(append(batch[:0], first))
		if s.opts.CommitDelay > 0 && arr.worthWaiting(s.opts.CommitDelay) {
			batch = s.linger(batch)
		}
		s.commit(batch)
	}
}

// rateMemory is how long the writer remembers the rate writes came at:
// the weight of a past batch halves every 0.7 of it.
const rateMemory = 20 * time.Millisecond

// arrivals follows how fast writes reach the writer, from the batches'
// sizes and the time between their starts.
type arrivals struct {
	last     time.Time
	rate     float64 // writes a second, smoothed
	together bool    // the last batch carried more than one write
}

// observe records that the batch just committed carried n writes and the
// next starts at now.
func (a *arrivals) observe(n int, now time.Time) {
	if dt := now.Sub(a.last); !a.last.IsZero() && dt > 0 {
		w := math.Exp(-float64(dt) / float64(rateMemory))
		a.rate = w*a.rate + (1-w)*float64(n)/dt.Seconds()
	}
	a.last = now
	// A batch of one says nothing of the rate: it may be one writer
	// waiting for each of its writes in turn.
	a.together = n > 1
}

// worthWaiting reports whether writes arrive together and fast enough to
// bring lingerWorth more within delay.
func (a *arrivals) worthWaiting(delay time.Duration) bool {
	return a.together && a.rate*delay.Seconds() >= lingerWorth
}

// drain adds the writes already queued to batch, up to maxBatch.
func (s *Store) drain(batch []*writeOp) []*writeOp {
	for len(batch) < maxBatch {
		select {
		case op := <-s.ops:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

// linger waits Options.CommitDelay for more writes to join batch, or
// until it is full.
func (s *Store) linger(batch []*writeOp) []*writeOp {
	timer := time.NewTimer(s.opts.CommitDelay)
	defer timer.Stop()
	for len(batch) < maxBatch {
		select {
		case op := <-s.ops:
			batch = s.drain(append(batch, op))
		case <-timer.C:
			return batch
		case <-s.stop:
			return batch
		}
	}
	return batch
}

// commit runs a batch in one transaction. A write that returns an error is
// answered with it and the batch is run again without it.
func (s *Store) commit(batch []*writeOp) {
	start := time.Now()
	defer func() { s.busy.Add(int64(time.Since(start))) }()
	for len(batch) > 0 {
		failed := -1
		var hooks []func()
		err := s.db.Update(func(btx *bolt.Tx) error {
			hooks = hooks[:0]
			for i, op := range batch {
				tx := &Tx{Tx: btx, watchers: s.watchers, st: s}
				if err := op.fn(tx); err != nil {
					failed = i
					return err
				}
				hooks = append(hooks, tx.hooks...)
			}
			return nil
		})
		if err == nil {
			s.commits.Add(1)
			s.writes.Add(uint64(len(batch)))
			for _, h := range hooks {
				h()
			}
			for _, op := range batch {
				op.done <- nil
			}
			return
		}
		if failed < 0 {
			// The commit itself failed (disk full, I/O error): nobody's
			// write is durable.
			for _, op := range batch {
				op.done <- fmt.Errorf("commit: %w", err)
			}
			return
		}
		batch[failed].done <- err
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// appendFill is how full bbolt fills a page before splitting it in buckets
// whose keys mostly grow (time-ordered IDs, sequence numbers). Its default,
// half, suits random keys; for keys added at the end it leaves every page
// half empty, and the database twice its size in memory and on disk.
const appendFill = 0.9

// appending returns the bucket name of tx, set up for keys added mostly at
// its end.
func appending(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = appendFill
	return b
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func readU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
