package simplepeer

import (
	"fmt"
	"strings"

	"github.com/pion/logging"
)

// Logging. The library logs through the logging.LoggerFactory the caller
// gives (simple-peer's debug): nothing by default. Every line, the
// library's and Pion's, passes through a redacting logger first, so that no
// secret reaches the log at any level: Pion's ICE agent logs the remote's
// ICE password at debug level, and an SDP line holds the local one.

// redact replaces the value that follows a password or credential name in
// a log line ("remotePwd: \"...\"", "a=ice-pwd:...", "Credential:...").
func redact(s string) string {
	lower := strings.ToLower(s)
	var b strings.Builder
	done := 0 // s[:done] is written to b
	for i := 0; i < len(s); {
		n := secretNameAt(lower, i)
		if n == 0 {
			i++
			continue
		}
		j := i + n
		j += span(s[j:], `" `)
		if j == len(s) || (s[j] != ':' && s[j] != '=') {
			i += n
			continue
		}
		j++
		j += span(s[j:], `" `)
		end := j + strings.IndexFunc(s[j:], func(r rune) bool { return strings.ContainsRune("\" \t,}]\r\n", r) })
		if end < j {
			end = len(s)
		}
		if end > j {
			b.WriteString(s[done:j])
			b.WriteString("[redacted]")
			done = end
		}
		i = end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// secretNameAt returns the length of the secret's name at lower[i:], or 0.
func secretNameAt(lower string, i int) int {
	for _, name := range []string{"pwd", "password", "credential"} {
		if strings.HasPrefix(lower[i:], name) {
			return len(name)
		}
	}
	return 0
}

// span returns how many leading bytes of s are in set.
func span(s, set string) int {
	n := 0
	for n < len(s) && strings.IndexByte(set, s[n]) >= 0 {
		n++
	}
	return n
}

// redactingFactory wraps a LoggerFactory so that its loggers redact.
type redactingFactory struct{ logging.LoggerFactory }

func (f redactingFactory) NewLogger(scope string) logging.LeveledLogger {
	keep := logging.LogLevelTrace // an unknown factory's loggers decide for themselves
	if d, ok := f.LoggerFactory.(*logging.DefaultLoggerFactory); ok {
		// Pion's own factory fixes each scope's level here: lines above it
		// are dropped before they cost anything (boxing a lazyLine is an
		// allocation, and Pion's SCTP logs several per message).
		keep = d.DefaultLogLevel
		if l, found := d.ScopeLevels[scope]; found {
			keep = l
		}
	}
	return redactingLogger{l: f.LoggerFactory.NewLogger(scope), keep: keep}
}

type redactingLogger struct {
	l    logging.LeveledLogger
	keep logging.LogLevel // the most verbose level the logger below keeps
}

// lazyLine formats and redacts a log line only when the logger below keeps
// it: Pion calls its trace and debug loggers for every SCTP chunk, and
// formatting those only to drop them costs a quarter of the throughput.
type lazyLine struct {
	format string
	args   []any
}

func (l lazyLine) String() string { return redact(fmt.Sprintf(l.format, l.args...)) }

func (r redactingLogger) Trace(m string) {
	if r.keep >= logging.LogLevelTrace {
		r.l.Tracef("%v", lazyLine{"%s", []any{m}})
	}
}

func (r redactingLogger) Tracef(f string, a ...any) {
	if r.keep >= logging.LogLevelTrace {
		r.l.Tracef("%v", lazyLine{f, a})
	}
}

func (r redactingLogger) Debug(m string) {
	if r.keep >= logging.LogLevelDebug {
		r.l.Debugf("%v", lazyLine{"%s", []any{m}})
	}
}

func (r redactingLogger) Debugf(f string, a ...any) {
	if r.keep >= logging.LogLevelDebug {
		r.l.Debugf("%v", lazyLine{f, a})
	}
}

func (r redactingLogger) Info(m string) {
	if r.keep >= logging.LogLevelInfo {
		r.l.Infof("%v", lazyLine{"%s", []any{m}})
	}
}

func (r redactingLogger) Infof(f string, a ...any) {
	if r.keep >= logging.LogLevelInfo {
		r.l.Infof("%v", lazyLine{f, a})
	}
}

func (r redactingLogger) Warn(m string) {
	if r.keep >= logging.LogLevelWarn {
		r.l.Warnf("%v", lazyLine{"%s", []any{m}})
	}
}

func (r redactingLogger) Warnf(f string, a ...any) {
	if r.keep >= logging.LogLevelWarn {
		r.l.Warnf("%v", lazyLine{f, a})
	}
}

func (r redactingLogger) Error(m string)            { r.l.Errorf("%v", lazyLine{"%s", []any{m}}) }
func (r redactingLogger) Errorf(f string, a ...any) { r.l.Errorf("%v", lazyLine{f, a}) }

type nopLoggerFactory struct{}

func (nopLoggerFactory) NewLogger(string) logging.LeveledLogger { return nopLogger{} }

type nopLogger struct{}

func (nopLogger) Trace(string)          {}
func (nopLogger) Tracef(string, ...any) {}
func (nopLogger) Debug(string)          {}
func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Info(string)           {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warn(string)           {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Error(string)          {}
func (nopLogger) Errorf(string, ...any) {}
