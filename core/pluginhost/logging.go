package pluginhost

import (
	"bufio"
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"
)

// newPluginLogger returns the hclog logger go-plugin writes to. Lines a
// plugin logs with sdk.NewLogger arrive here with their level and fields and
// go to the daemon's log tagged with the instance name.
func newPluginLogger(log logrus.FieldLogger, instance string) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   instance,
		Output: io.Discard,
		Level:  hclog.Debug,
	})
	l.RegisterSink(&logrusSink{log: log.WithField("plugin", instance)})
	return l
}

type logrusSink struct{ log *logrus.Entry }

// Accept implements hclog.SinkAdapter.
func (s *logrusSink) Accept(_ string, level hclog.Level, msg string, args ...any) {
	entry := s.log
	for i := 0; i+1 < len(args); i += 2 {
		key := fmt.Sprint(args[i])
		if key == "timestamp" {
			continue
		}
		entry = entry.WithField(key, args[i+1])
	}
	switch level {
	case hclog.Trace:
		entry.Trace(msg)
	case hclog.Debug:
		entry.Debug(msg)
	case hclog.Info:
		entry.Info(msg)
	case hclog.Warn:
		entry.Warn(msg)
	default:
		entry.Error(msg)
	}
}

// lineWriter logs each line written to it; it takes a plugin's plain
// stdout/stderr output (panics, fmt.Println) into the daemon's log.
func lineWriter(log *logrus.Entry, level logrus.Level) io.WriteCloser {
	r, w := io.Pipe()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			log.Log(level, sc.Text())
		}
		r.Close()
	}()
	return w
}
