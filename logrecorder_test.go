package simplepeer_test

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pion/logging"
)

// logRecorder keeps every line logged at or above its level by the peers
// whose LoggerFactory (Options.LoggerFactory and SettingEngine.LoggerFactory)
// it made, with the peer, scope and level of each, so that a test can
// search the log and name exactly which line says what. Unlike
// logging.DefaultLoggerFactory it keeps the level and scope apart from the
// text, and formats a line only when it keeps it.
type logRecorder struct {
	level logging.LogLevel

	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	peer, scope string
	level       logging.LogLevel
	text        string
}

func (l logLine) String() string {
	return fmt.Sprintf("%s scope=%s level=%s: %s", l.peer, l.scope, strings.ToUpper(l.level.String()), l.text)
}

func newLogRecorder(level logging.LogLevel) *logRecorder { return &logRecorder{level: level} }

// factory returns a LoggerFactory whose lines are recorded as peer's.
func (r *logRecorder) factory(peer string) logging.LoggerFactory { return recFactory{r, peer} }

// snapshot returns the lines recorded so far.
func (r *logRecorder) snapshot() []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logLine(nil), r.lines...)
}

func (r *logRecorder) add(peer, scope string, level logging.LogLevel, text string) {
	r.mu.Lock()
	r.lines = append(r.lines, logLine{peer, scope, level, strings.TrimRight(text, "\n")})
	r.mu.Unlock()
}

type recFactory struct {
	r    *logRecorder
	peer string
}

func (f recFactory) NewLogger(scope string) logging.LeveledLogger {
	return recLogger{f.r, f.peer, scope}
}

type recLogger struct {
	r           *logRecorder
	peer, scope string
}

func (l recLogger) log(level logging.LogLevel, msg string) {
	if level <= l.r.level {
		l.r.add(l.peer, l.scope, level, msg)
	}
}

func (l recLogger) logf(level logging.LogLevel, format string, args ...any) {
	if level <= l.r.level {
		l.r.add(l.peer, l.scope, level, fmt.Sprintf(format, args...))
	}
}

func (l recLogger) Trace(msg string)             { l.log(logging.LogLevelTrace, msg) }
func (l recLogger) Tracef(f string, args ...any) { l.logf(logging.LogLevelTrace, f, args...) }
func (l recLogger) Debug(msg string)             { l.log(logging.LogLevelDebug, msg) }
func (l recLogger) Debugf(f string, args ...any) { l.logf(logging.LogLevelDebug, f, args...) }
func (l recLogger) Info(msg string)              { l.log(logging.LogLevelInfo, msg) }
func (l recLogger) Infof(f string, args ...any)  { l.logf(logging.LogLevelInfo, f, args...) }
func (l recLogger) Warn(msg string)              { l.log(logging.LogLevelWarn, msg) }
func (l recLogger) Warnf(f string, args ...any)  { l.logf(logging.LogLevelWarn, f, args...) }
func (l recLogger) Error(msg string)             { l.log(logging.LogLevelError, msg) }
func (l recLogger) Errorf(f string, args ...any) { l.logf(logging.LogLevelError, f, args...) }
