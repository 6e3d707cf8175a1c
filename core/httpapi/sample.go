package httpapi

import (
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// rejectionsLogged is how many rejections of one kind (a channel instance
// and a reason) are logged a minute; the rest are counted, and the count
// is logged once the minute is over.
const rejectionsLogged = 10

// rejectionLog logs refused webhooks with sampling, so junk traffic
// cannot fill the disk with log lines.
type rejectionLog struct {
	log logrus.FieldLogger
	now func() time.Time

	mu    sync.Mutex
	kinds map[rejectionKind]*rejectionWindow
}

type rejectionKind struct {
	instance, reason string
}

// rejectionWindow counts one kind's rejections in the minute from start.
type rejectionWindow struct {
	start   time.Time
	logged  int
	dropped int
}

func newRejectionLog(log logrus.FieldLogger, now func() time.Time) *rejectionLog {
	return &rejectionLog{log: log, now: now, kinds: map[rejectionKind]*rejectionWindow{}}
}

// reject logs one rejection of a webhook to instance for reason, unless
// rejectionsLogged of the kind were already logged this minute.
func (l *rejectionLog) reject(instance, reason string, fields logrus.Fields) {
	now := l.now()
	k := rejectionKind{instance, reason}
	l.mu.Lock()
	win := l.kinds[k]
	dropped := 0
	if win == nil || now.Sub(win.start) >= time.Minute {
		if win != nil {
			dropped = win.dropped
		}
		win = &rejectionWindow{start: now}
		l.kinds[k] = win
	}
	logIt := win.logged < rejectionsLogged
	if logIt {
		win.logged++
	} else {
		win.dropped++
	}
	l.mu.Unlock()

	entry := l.log.WithFields(logrus.Fields{"channel": instance, "reason": reason})
	if dropped > 0 {
		entry.WithField("count", dropped).Info("more webhooks were rejected in the previous minute for this reason, unlogged")
	}
	if logIt {
		entry.WithFields(fields).Info("webhook rejected")
	}
}
